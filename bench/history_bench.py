"""History at scale: save latency, search and page latency, size on disk.

    .venv/bin/python bench/history_bench.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("station train ticket coffee report meeting update button support morning office fish "
         "restaurant keys home yesterday tomorrow please thank you where when how much").split()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--audio-s", type=float, default=0.5, help="audio per entry (short keeps the bench fast)")
    a = ap.parse_args()
    from app.core.utterance import Utterance
    from app.history import HistoryStore

    rng = random.Random(3)
    d = Path(tempfile.mkdtemp())
    store = HistoryStore(d)
    audio = (np.sin(np.arange(int(24000 * a.audio_s)) / 9) * 3000).astype(np.int16)
    saves = []
    for i in range(a.n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."
        u = Utterance(text, "es", "en")
        u.transcript = text
        u.audio = audio
        u.state = "complete"
        t = time.perf_counter()
        store.save(u)
        saves.append(time.perf_counter() - t)
    searches, pages = [], []
    for w in WORDS:
        t = time.perf_counter()
        store.list(w, limit=100)
        searches.append(time.perf_counter() - t)
    for off in range(0, min(a.n, 5000), 500):
        t = time.perf_counter()
        store.list(limit=100, offset=off)
        pages.append(time.perf_counter() - t)
    t = time.perf_counter()
    store.close()
    reopen = HistoryStore(d)
    reopen_s = time.perf_counter() - t
    db = sum(p.stat().st_size for p in d.glob("history.sqlite3*"))
    audio_bytes = sum(p.stat().st_size for p in (d / "audio").glob("*.wav"))

    def q(xs, p):
        xs = sorted(xs)
        return round(1000 * xs[min(len(xs) - 1, int(p * (len(xs) - 1)))], 2)

    print(json.dumps({
        "entries": a.n,
        "save_ms": {"p50": q(saves, 0.5), "p95": q(saves, 0.95)},
        "search_ms": {"p50": q(searches, 0.5), "p95": q(searches, 0.95)},
        "page_of_100_ms": {"p50": q(pages, 0.5), "max": q(pages, 1.0)},
        "reopen_ms": round(1000 * reopen_s, 1),
        "db_mb": round(db / 1e6, 2), "audio_mb": round(audio_bytes / 1e6, 1),
        "search_hits_for_'station'": len(reopen.list("station", limit=100000)),
    }, indent=2))


if __name__ == "__main__":
    main()
