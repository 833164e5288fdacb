"""History at scale: save and load latency, search and page latency, size on disk, and the
audio's bytes per second as WAV (how history stored it before, and still does without
soundfile) and as FLAC (now).

    .venv/bin/python bench/history_bench.py [--n 10000] [--formats wav,flac]

Entries hold real speech (espeak-ng, resampled to 24 kHz pcm16), cut at random offsets.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("station train ticket coffee report meeting update button support morning office fish "
         "restaurant keys home yesterday tomorrow please thank you where when how much").split()
SPEECH = ("The train to the station leaves at seven. Please keep your ticket until the end of the journey. "
          "Could you tell me where the nearest coffee shop is? Thank you for your help this morning.")
RATE = 24000


def speech_24k() -> tuple[np.ndarray, str]:
    """About 12 s of speech; a tone when espeak-ng is missing (then FLAC's gain is overstated)."""
    from app.audio.resample import resample
    from app.audio.wavfile import read_wav

    if shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "speech.wav"
            subprocess.run(["espeak-ng", "-w", str(path), SPEECH], check=True, capture_output=True)
            pcm, rate = read_wav(path)
        return resample(pcm, rate, RATE), "espeak-ng speech"
    return (np.sin(np.arange(RATE * 12) / 9) * 3000).astype(np.int16), "tone (espeak-ng missing)"


@contextmanager
def audio_format(fmt: str):
    """'wav': history as it was before FLAC (what it does without soundfile)."""
    from app.audio import flacfile

    if fmt == "flac":
        if not flacfile.available():
            raise SystemExit("soundfile is not installed: cannot measure FLAC")
        yield
        return
    saved, logged = sys.modules.get("soundfile"), flacfile._missing_logged
    sys.modules["soundfile"] = None            # import fails: the store falls back to WAV
    flacfile._missing_logged = True            # (quietly)
    try:
        yield
    finally:
        flacfile._missing_logged = logged
        if saved is None:
            sys.modules.pop("soundfile", None)
        else:
            sys.modules["soundfile"] = saved


def q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(p * (len(xs) - 1)))], 2)


def measure(fmt: str, n: int, audio_s: float, speech: np.ndarray, loads: int = 300) -> dict:
    from app.core.utterance import Utterance
    from app.history import HistoryStore

    rng = random.Random(3)
    d = Path(tempfile.mkdtemp(prefix=f"history-bench-{fmt}-"))
    try:
        with audio_format(fmt):
            store = HistoryStore(d)
            span = int(RATE * audio_s)
            saves, ids = [], []
            for _ in range(n):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."
                u = Utterance(text, "es", "en")
                u.transcript = text
                start = rng.randrange(0, len(speech) - span)
                u.audio = speech[start:start + span]
                u.state = "complete"
                t = time.perf_counter()
                store.save(u)
                saves.append(time.perf_counter() - t)
                ids.append(u.id)
            got = []
            for uid in rng.sample(ids, min(loads, n)):
                t = time.perf_counter()
                u = store.get(uid)
                got.append(time.perf_counter() - t)
                assert len(u.audio) == span, "audio did not read back"
            searches, pages = [], []
            for w in WORDS:
                t = time.perf_counter()
                store.list(w, limit=100)
                searches.append(time.perf_counter() - t)
            for off in range(0, min(n, 5000), 500):
                t = time.perf_counter()
                store.list(limit=100, offset=off)
                pages.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.close()
            reopen = HistoryStore(d)
            reopen_s = time.perf_counter() - t
            hits = len(reopen.list("station", limit=100000))
            reopen.close()
        db = sum(p.stat().st_size for p in d.glob("history.sqlite3*"))
        files = [p for p in (d / "audio").iterdir() if p.suffix in (".wav", ".flac")]
        assert {p.suffix for p in files} == {"." + fmt}, "the store wrote another format than measured"
        audio_bytes = sum(p.stat().st_size for p in files)
        return {
            "audio_format": fmt,
            "entries": n,
            "audio_bytes_per_audio_s": round(audio_bytes / (n * audio_s)),
            "audio_mb": round(audio_bytes / 1e6, 1),
            "audio_mb_per_10000_entries": round(audio_bytes / n * 10000 / 1e6, 1),
            "save_ms": {"p50": q(saves, 0.5), "p95": q(saves, 0.95)},
            "load_ms": {"p50": q(got, 0.5), "p95": q(got, 0.95)},
            "search_ms": {"p50": q(searches, 0.5), "p95": q(searches, 0.95)},
            "page_of_100_ms": {"p50": q(pages, 0.5), "max": q(pages, 1.0)},
            "reopen_ms": round(1000 * reopen_s, 1),
            "db_mb": round(db / 1e6, 2),
            "search_hits_for_'station'": hits,
        }
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--audio-s", type=float, default=0.5, help="audio per entry (short keeps the bench fast)")
    ap.add_argument("--formats", default="wav,flac", help="wav = before FLAC (or without soundfile), flac = now")
    a = ap.parse_args()
    speech, source = speech_24k()
    runs = [measure(fmt, a.n, a.audio_s, speech) for fmt in a.formats.split(",")]
    out: dict = {"audio": f"{source}, pcm16 {RATE} Hz mono, {a.audio_s:g} s per entry", "runs": runs}
    by = {r["audio_format"]: r for r in runs}
    if {"wav", "flac"} <= by.keys():
        out["flac_size_vs_wav"] = round(by["flac"]["audio_bytes_per_audio_s"] / by["wav"]["audio_bytes_per_audio_s"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
