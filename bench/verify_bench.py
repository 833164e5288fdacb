"""Benchmark the verifier on a labeled corpus (see bench/corpus.py), per format and language.

    nice .venv/bin/python bench/verify_bench.py [--n 300] [--seed 7] [--formats pcm16,g711_ulaw]
                                               [--no-long] [-v] [--json PATH]

Every utterance is verified as pcm16 24 kHz and as G.711 μ-law 8 kHz (what a telephone
session sends), and the figures are printed for each format, overall and per target
language: utterance false alarms on clean audio, truncated-, drifted- and misspoken-segment
recall (and whether the drift language was named right), word-start error against the
voices' own word marks (natural Piper and eSpeak NG apart; Kokoro reports none), verifier
latency for 5.5–9 s utterances and the real-time factor on a ~60 s file.
The first run synthesizes the corpus (natural voices cost ~0.7 s per second of speech on
2 cores) into $VERBATIM_CORPUS_CACHE (default /tmp/verbatim-corpus-cache); later runs reuse it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from corpus import NATURAL, TARGETS, long_utterance, make_corpus  # noqa: E402


def pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


SOURCES = ("es", "fr", "de", "it", "pt", "en")


def source_of(u, args) -> str | None:
    """The language the user typed in: drifts go there; the others get one too, like in the app."""
    if getattr(args, "no_source_hint", False):
        return None
    if u.drift_language:
        return u.drift_language
    others = [s for s in SOURCES if s != u.language]
    return others[sum(map(ord, u.id)) % len(others)]


def as_format(audio: np.ndarray, rate: int, fmt: str) -> tuple[np.ndarray, int]:
    """The utterance as it would arrive: pcm16 24 kHz, or G.711 8 kHz decoded to int16."""
    from app.audio.codecs import decode, encode, get_format
    from app.audio.resample import resample

    f = get_format(fmt)
    pcm = resample(audio, rate, f.sample_rate)
    if fmt == "pcm16":
        return pcm, f.sample_rate
    return decode(encode(pcm, f), f), f.sample_rate


class Tally:
    def __init__(self) -> None:
        self.c: dict[str, int] = defaultdict(int)

    def add(self, key: str, hit: bool) -> None:
        self.c[key + "_n"] += 1
        self.c[key + "_hit"] += int(bool(hit))

    def rate(self, key: str) -> str:
        n, h = self.c[key + "_n"], self.c[key + "_hit"]
        return f"{h}/{n}" if n else "–"

    def frac(self, key: str) -> float:
        n = self.c[key + "_n"]
        return self.c[key + "_hit"] / n if n else float("nan")


@dataclass
class FormatRun:
    """What one format's pass over the corpus measured."""

    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    start_err: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lat7: list[float] = field(default_factory=list)
    lat7_clean: list[float] = field(default_factory=list)   # the same, clean answers only (most real ones)
    confusion: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)   # per utterance, for --json


def family_of(voice: str) -> str:
    return "natural" if voice.split(":")[0] in NATURAL else "espeak"


def tally_segments(fr: FormatRun, u, r, keys) -> None:
    got = [s.status for s in r.segments]
    if len(got) != len(u.expected):
        print(f"!! {u.id}: {len(got)} segments, expected {len(u.expected)}")
    for e, g, seg in zip(u.expected, got, r.segments, strict=False):
        fr.confusion[(e, g)] += 1
        for key in keys:
            tl = fr.tallies[key]
            if e == "truncated":
                tl.add("trunc", g == "truncated")
                tl.add("trunc_red", g == "truncated" and seg.flagged)
            elif e == "drifted":
                tl.add("drift", g == "drifted")
                tl.add("drift_red", g == "drifted" and seg.flagged)
                tl.add("driftlang", g == "drifted" and seg.heard_language == u.drift_language)
            elif e == "misspoken":
                tl.add("missp", g == "misspoken")
                tl.add("missp_red", g == "misspoken" and seg.flagged)
            else:
                tl.add("ok", g == "ok")
                tl.add("ok_red", seg.flagged)
    faults = [i for i, e in enumerate(u.expected) if e != "ok"]
    if faults:
        red = [i for i, seg in enumerate(r.segments) if seg.flagged]
        for key in keys:
            fr.tallies[key].add("located", red == faults)
    if u.kind == "clean":
        for key in keys:
            fr.tallies[key].add("fa", not r.matches)
            fr.tallies[key].add("fa_any", not r.matches or r.uncertain)
        by_start = {w.char_start: w for w in r.words}
        for cs, st in u.marks:
            w = by_start.get(cs)
            if w is not None and w.start_s is not None:
                fr.start_err[u.voice.split(":")[0]].append(abs(w.start_s - st))


def show_result(fmt: str, u, r, dur: float, bad: bool) -> None:
    got = [s.status for s in r.segments]
    print(f"{'!!' if bad else 'ok'} [{fmt}] {u.id} {u.voice} {dur:4.1f}s {r.elapsed_s:4.2f}s "
          f"expected={u.expected} got={got}")
    if bad:
        print(f"     transcript: {u.transcript}")
        for s in r.segments:
            if s.differs:
                print(f"     [{s.index}] {s.status} ({s.confidence}) heard={s.heard!r} lang={s.heard_language}")


def run_format(v, corpus, fmt: str, args) -> FormatRun:
    fr = FormatRun()
    for u in corpus:
        audio, rate = as_format(u.audio, u.rate, fmt)
        r = v.verify(u.transcript, audio, rate, u.language, source_of(u, args))
        dur = len(audio) / rate
        if 5.5 <= dur <= 9.0:
            fr.lat7.append(r.elapsed_s)
            if u.kind == "clean":
                fr.lat7_clean.append(r.elapsed_s)
        family = family_of(u.voice)
        tally_segments(fr, u, r, ("all", u.language, family, f"{u.language} {family}"))
        bad = [s.status for s in r.segments] != u.expected
        fr.results.append({"id": u.id, "format": fmt, "duration_s": round(dur, 2),
                           "elapsed_s": round(r.elapsed_s, 3), "statuses": [s.status for s in r.segments],
                           "confidences": [s.confidence for s in r.segments],
                           "heard_languages": [s.heard_language for s in r.segments],
                           "word_starts": [w.start_s for w in r.words]})
        if bad:
            fr.failures.append(f"{u.id} ({u.voice})")
        if args.verbose or (bad and not args.quiet):
            show_result(fmt, u, r, dur, bad)
    return fr


ROWS = ("all", *TARGETS, "natural", *(f"{t} natural" for t in TARGETS), "espeak",
        *(f"{t} espeak" for t in TARGETS))


def print_format(fr: FormatRun, fmt: str, n: int, args) -> None:
    print()
    print(f"=== verifier bench: {fmt} ({n} utterances) ===")
    print("| target | clean red FA | clean red+amber | faults located in red | truncated recall (red) | "
          "drifted recall (red) | drift language right | misspoken recall (red) | ok kept ok (red) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in ROWS:
        tl = fr.tallies.get(key)
        if tl is None:
            continue
        print(f"| {key} | {tl.rate('fa')} ({tl.frac('fa'):.1%}) | {tl.rate('fa_any')} | {tl.rate('located')} | "
              f"{tl.rate('trunc')} ({tl.rate('trunc_red')}) | {tl.rate('drift')} ({tl.rate('drift_red')}) | "
              f"{tl.rate('driftlang')} | {tl.rate('missp')} ({tl.rate('missp_red')}) | {tl.rate('ok')} "
              f"({tl.rate('ok_red')} red) |")
    print("segment confusion (expected -> got): " + ", ".join(
        f"{e}->{g}: {c}" for (e, g), c in sorted(fr.confusion.items())))
    for voice, errs in sorted(fr.start_err.items()):
        ms = np.array(errs) * 1000
        print(f"word start |error| ({voice} marks): median {np.median(ms):.0f} ms, p95 {pct(ms, 95):.0f} ms "
              f"({len(ms)} words)")
    if fr.lat7:
        print(f"latency 5.5–9 s utterances: p50 {pct(fr.lat7, 50):.2f} s, p95 {pct(fr.lat7, 95):.2f} s "
              f"(n={len(fr.lat7)}); clean ones: p50 {pct(fr.lat7_clean, 50):.2f} s, "
              f"p95 {pct(fr.lat7_clean, 95):.2f} s (n={len(fr.lat7_clean)})")
    if args.quiet and fr.failures:
        print("wrong: " + ", ".join(fr.failures))


def run(args) -> int:
    from app.verify.verifier import Verifier

    t = time.monotonic()
    corpus = make_corpus(args.n, args.seed, args.voices)
    print(f"corpus: {len(corpus)} utterances made in {time.monotonic() - t:.1f} s")
    v = Verifier(threads=args.threads)
    t = time.monotonic()
    v.load()
    v.verify("Warm up.", np.zeros(8000, np.int16), 16000, "en")
    print(f"model load: {time.monotonic() - t:.2f} s")
    t_all = time.monotonic()
    results = []
    for fmt in (f.strip() for f in args.formats.split(",") if f.strip()):
        fr = run_format(v, corpus, fmt, args)
        print_format(fr, fmt, len(corpus), args)
        results += fr.results
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=0))
        print(f"per-utterance results written to {args.json}")
    print(f"\nverification time, all formats: {time.monotonic() - t_all:.0f} s")
    if not args.no_long:
        u = long_utterance(60.0)
        audio, rate = as_format(u.audio, u.rate, "pcm16")
        dur = len(audio) / rate
        r = v.verify(u.transcript, audio, rate, u.language, source_of(u, args))
        print(f"long file: {dur:.1f} s verified in {r.elapsed_s:.2f} s -> RTF {r.elapsed_s / dur:.3f} "
              f"({len(r.flagged_segments)} of {len(r.segments)} segments flagged)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60, help="utterances in the corpus (default 60; 300 for the bars)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--formats", default="pcm16,g711_ulaw", help="comma-separated: pcm16, g711_ulaw, g711_alaw")
    ap.add_argument("--threads", type=int, default=None,
                    help="Whisper's intra-op threads (default: the verifier's own choice)")
    ap.add_argument("--no-long", action="store_true", help="skip the 60 s real-time-factor run")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every utterance's result")
    ap.add_argument("--quiet", "-q", action="store_true", help="list wrong utterances by id only")
    ap.add_argument("--json", metavar="PATH",
                    help="write every utterance's statuses, word starts and time to PATH (compare runs)")
    ap.add_argument("--debug", action="store_true", help="log the verifier's language decisions")
    ap.add_argument("--voices", choices=["mixed", "espeak"], default="mixed",
                    help="mixed: Piper/Kokoro natural voices and eSpeak NG variants; espeak: eSpeak NG only")
    ap.add_argument("--no-source-hint", action="store_true",
                    help="do not tell the verifier the source language (the app always knows it)")
    args = ap.parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG)
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    os.environ.setdefault("VERBATIM_MODEL_CACHE", "/tmp/verbatim-model-cache")
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
