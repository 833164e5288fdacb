"""Memory of verifying one long answer (issue 16): RSS before, peak during, after.

    nice .venv/bin/python bench/verify_memory.py [--seconds 200] [--json]

Builds ~`seconds` of clean English speech offline (bench/corpus.py's long-file builder,
cached like the corpus), loads the verifier in a fresh process with the app's allocator
setting (`app.core.memory.tune_allocator`, as `python -m app` does), warms it on a short
clip, then verifies the long file while a thread samples VmRSS every 5 ms. Prints RSS
before, peak during and after the verification (MB), and the verdict summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.005):
            self.peak = max(self.peak, rss_mb())


def measure(seconds: float, tune: bool = True) -> dict:
    import numpy as np

    from app.core.memory import tune_allocator

    if tune:
        tune_allocator()
    from corpus import long_utterance

    from app.verify.verifier import Verifier

    u = long_utterance(seconds)
    audio = (np.clip(u.audio, -1, 1) * 32767).astype(np.int16) if u.audio.dtype != np.int16 else u.audio
    v = Verifier()
    v.load()
    v.verify("Warm up, please.", np.zeros(16000, np.int16), 16000, "en")
    time.sleep(0.2)
    before = rss_mb()
    s = Sampler()
    s.start()
    r = v.verify(u.transcript, audio, u.rate, "en", "es")
    s.stop.set()
    s.join()
    time.sleep(0.2)
    after = rss_mb()
    return {"audio_s": round(len(audio) / u.rate, 1), "before_mb": round(before, 1),
            "peak_mb": round(s.peak, 1), "rise_mb": round(s.peak - before, 1),
            "after_mb": round(after, 1), "kept_mb": round(after - before, 1),
            "elapsed_s": round(r.elapsed_s, 2), "rtf": round(r.elapsed_s / (len(audio) / u.rate), 3),
            "segments": len(r.segments), "flagged": [s.index for s in r.segments if s.flagged],
            "statuses": [s.status for s in r.segments]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=200.0)
    ap.add_argument("--no-tune", action="store_true", help="leave glibc's malloc settings alone")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("VERBATIM_MODEL_CACHE", "/tmp/verbatim-model-cache")
    out = measure(args.seconds, tune=not args.no_tune)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['audio_s']} s of speech verified in {out['elapsed_s']} s (RTF {out['rtf']}); "
              f"{len(out['flagged'])} of {out['segments']} segments flagged")
        print(f"RSS before {out['before_mb']} MB, peak {out['peak_mb']} MB (+{out['rise_mb']}), "
              f"after {out['after_mb']} MB (+{out['kept_mb']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
