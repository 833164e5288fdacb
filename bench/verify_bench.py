"""Benchmark the verifier on a labeled espeak-ng corpus (see bench/corpus.py).

    .venv/bin/python bench/verify_bench.py [--n 40] [--seed 7] [--no-long] [--verbose]

Prints: utterance false-alarm rate on clean audio, truncated- and drifted-segment
recall, word-timing error against espeak's word marks, verifier latency (p50/p95) and
the real-time factor on a ~60 s file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from corpus import long_utterance, make_corpus  # noqa: E402


def pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


SOURCES = ("es", "fr", "de", "it", "pt", "en")


def source_of(u, args) -> str | None:
    """The language the user typed in: drifts go there; clean ones get one too, like in the app."""
    if getattr(args, "no_source_hint", False):
        return None
    if u.drift_language:
        return u.drift_language
    others = [s for s in SOURCES if s != u.language]
    return others[sum(map(ord, u.id)) % len(others)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="utterances in the corpus (default 40)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-long", action="store_true", help="skip the 60 s real-time-factor run")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every utterance's result")
    ap.add_argument("--debug", action="store_true", help="log the verifier's language decisions")
    ap.add_argument("--voices", choices=["mixed", "espeak"], default="mixed",
                    help="mixed: Piper (English) and eSpeak NG variants at three speeds; espeak: eSpeak NG only")
    ap.add_argument("--no-source-hint", action="store_true",
                    help="do not tell the verifier the source language (the app always knows it)")
    args = ap.parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG)
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    os.environ.setdefault("VERBATIM_MODEL_CACHE", "/tmp/verbatim-model-cache")

    from app.verify.verifier import Verifier

    t = time.monotonic()
    corpus = make_corpus(args.n, args.seed, args.voices)
    print(f"corpus: {len(corpus)} utterances made in {time.monotonic() - t:.1f} s")
    v = Verifier(threads=2)
    t = time.monotonic()
    v.load()
    v.verify("Warm up.", np.zeros(8000, np.int16), 16000, "en")
    print(f"model load: {time.monotonic() - t:.2f} s")

    clean_total = clean_fa = 0
    trunc_total = trunc_hit = 0
    drift_total = drift_hit = 0
    ok_total = ok_hit = 0
    lang_right = 0
    start_err: list[float] = []
    latencies: list[float] = []
    lat7: list[float] = []
    durations: list[float] = []
    confusion: dict[tuple[str, str], int] = {}
    for u in corpus:
        r = v.verify(u.transcript, u.audio, u.rate, u.language, source_of(u, args))
        got = [s.status for s in r.segments]
        dur = len(u.audio) / u.rate
        latencies.append(r.elapsed_s)
        durations.append(dur)
        if 5.5 <= dur <= 9.0:
            lat7.append(r.elapsed_s)
        if len(got) != len(u.expected):
            print(f"!! {u.id}: {len(got)} segments, expected {len(u.expected)}")
        for e, g, seg in zip(u.expected, got, r.segments):
            confusion[(e, g)] = confusion.get((e, g), 0) + 1
            if e == "truncated":
                trunc_total += 1
                trunc_hit += g == "truncated"
            elif e == "drifted":
                drift_total += 1
                drift_hit += g == "drifted"
                lang_right += g == "drifted" and seg.heard_language == u.drift_language
            else:
                ok_total += 1
                ok_hit += g == "ok"
        if u.kind == "clean":
            clean_total += 1
            clean_fa += not r.matches
            by_start = {w.char_start: w for w in r.words}
            for cs, st in u.marks:
                w = by_start.get(cs)
                if w is not None and w.start_s is not None:
                    start_err.append(abs(w.start_s - st))
        bad = got != u.expected
        if args.verbose or bad:
            print(f"{'!!' if bad else 'ok'} {u.id} {dur:4.1f}s {r.elapsed_s:4.2f}s expected={u.expected} got={got}")
            if bad:
                print(f"     transcript: {u.transcript}")
                for s in r.segments:
                    if s.flagged:
                        print(f"     [{s.index}] {s.status} heard={s.heard!r} lang={s.heard_language}")

    print()
    print("=== verifier bench ===")
    print(f"utterances: {len(corpus)} (clean {clean_total}); audio {np.mean(durations):.1f} s mean")
    print(f"false alarms on clean utterances: {clean_fa}/{clean_total} = {clean_fa / max(1, clean_total):.1%}")
    print(f"truncated-segment recall: {trunc_hit}/{trunc_total} = {trunc_hit / max(1, trunc_total):.3f}")
    print(f"drifted-segment recall:   {drift_hit}/{drift_total} = {drift_hit / max(1, drift_total):.3f}"
          f"  (drift language named right: {lang_right}/{drift_total})")
    print(f"ok segments kept ok (all kinds): {ok_hit}/{ok_total} = {ok_hit / max(1, ok_total):.3f}")
    print("segment confusion (expected -> got): " + ", ".join(
        f"{e}->{g}: {c}" for (e, g), c in sorted(confusion.items())))
    if start_err:
        ms = np.array(start_err) * 1000
        print(f"word start |error| vs espeak marks: median {np.median(ms):.0f} ms, p95 {pct(ms, 95):.0f} ms "
              f"({len(ms)} words)")
    print(f"latency all: p50 {pct(latencies, 50):.2f} s, p95 {pct(latencies, 95):.2f} s")
    if lat7:
        print(f"latency 5.5–9 s utterances: p50 {pct(lat7, 50):.2f} s, p95 {pct(lat7, 95):.2f} s (n={len(lat7)})")
    if not args.no_long:
        u = long_utterance(60.0)
        dur = len(u.audio) / u.rate
        r = v.verify(u.transcript, u.audio, u.rate, u.language, source_of(u, args))
        flagged = len(r.flagged_segments)
        print(f"long file: {dur:.1f} s verified in {r.elapsed_s:.2f} s -> RTF {r.elapsed_s / dur:.3f} "
              f"({flagged} of {len(r.segments)} segments flagged)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
