"""Time and memory of verifying a transcript far longer than its audio, and non-speech audio.

    nice .venv/bin/python bench/verify_bounds.py            # 10 KB and 1 MB against 2 s

Prints, per case: verdict, segments, seconds, and the peak RSS growth over the loaded
verifier (sampled every 5 ms from /proc/self/statm). The bar: a 10 KB transcript (800
short sentences) against 2 s of audio is judged in under 2 s; peak growth stays under
100 MB for 10 KB and for 1 MB.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Peak:
    def __init__(self) -> None:
        self.base = rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> Peak:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    from app.tts import synthesize
    from app.verify.verifier import Verifier

    said = synthesize("Hello there.", "en", "piper:joe")
    rate = said.sample_rate
    audio = np.zeros(int(args.seconds * rate), np.int16)
    audio[: len(said.samples)] = said.samples[: len(audio)]
    t = np.arange(int(args.seconds * rate)) / rate
    buzz = (0.3 * np.sign(np.sin(2 * np.pi * 120 * t)) * 32767).astype(np.int16)
    v = Verifier()
    v.load()
    v.verify("Hello there.", audio, rate, "en")       # warm: first-call allocations are not growth
    cases = [("10 KB, speech", " ".join(["Hello there."] * 800), audio),
             ("1 MB, speech", " ".join(["Hello there."] * 80000), audio),
             ("sentence, buzz", "The museum opens at nine in the morning.", buzz)]
    print(f"{'case':16} {'chars':>8} {'verdict':>9} {'segments':>8} {'seconds':>8} {'peak +MB':>9}")
    for name, text, pcm in cases:
        with Peak() as p:
            t0 = time.monotonic()
            r = v.verify(text, pcm, rate, "en")
            dt = time.monotonic() - t0
        print(f"{name:16} {len(text):8d} {r.verdict:>9} {len(r.segments):8d} {dt:8.2f} "
              f"{(p.peak - p.base) / 1e6:9.1f}")


if __name__ == "__main__":
    main()
