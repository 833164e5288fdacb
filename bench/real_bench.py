"""Benchmark the verifier on real recorded speech (bench/realspeech/), per format and language.

    nice .venv/bin/python bench/realspeech/fetch.py          # once: clips into /tmp/verbatim-realspeech
    nice .venv/bin/python bench/real_bench.py [--split test|dev|all] [--seed 7]
                                              [--formats pcm16,g711_ulaw] [--faults 12] [--drifts 12]
                                              [--limit N] [-v] [--json OUT]

From the fetched clips (index.json) and split.json it builds a deterministic labeled set per
target language (seeded): clean singles; clean pairs (two clips of one speaker, 0.3–0.6 s of
silence between them); truncated pairs (the audio of the first clip only, or cut half-way
through the second clip's voice); drifted pairs and triples (one clip's audio replaced by the
*parallel* Asterisk prompt - same prompt id - in another language, transcript unchanged);
and "both" (the first sentence drifted, the second missing). Every item is verified as pcm16
24 kHz and as G.711 μ-law 8 kHz, with the source language the app would pass.

Printed per format and per target language, with 95 % Wilson intervals: red false alarms on
clean answers, red + amber on clean answers, faults located in red (exactly the faulty
sentences red), truncated / drifted segments red, drifted named with the right language,
truncated recall; the segment confusion, latency for 5.5–9 s items, and the clips that
false-alarm on clean answers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from verify_bench import Tally as BaseTally  # noqa: E402
from verify_bench import as_format, pct  # noqa: E402

from app.text.segments import split_sentences  # noqa: E402

CACHE = Path(os.environ.get("VERBATIM_REALSPEECH_CACHE") or "/tmp/verbatim-realspeech")
SPLIT_FILE = Path(__file__).resolve().parent / "realspeech" / "split.json"
TARGETS = ("en", "es", "fr", "it")
# the language a translation into the target would come from (what the app passes), and the
# order in which a parallel prompt in another language is chosen to stand in for a drift:
# en <-> es are the same speaker (Allison Smith)
SOURCE = {"en": "es", "es": "en", "fr": "en", "it": "en"}
DRIFT_ORDER = {"en": ("es", "fr", "it"), "es": ("en", "it", "fr"), "fr": ("en", "es", "it"),
               "it": ("en", "es", "fr")}
ENDERS = ".!?;…"
CLEAN_KINDS = ("single", "pair")
FAULT_KINDS = ("trunc-first", "trunc-half", "drift-second", "drift-first", "drift-middle", "drift+trunc")
KINDS = CLEAN_KINDS + FAULT_KINDS


# --- the clips ---------------------------------------------------------------------------------


@dataclass
class Clip:
    id: str
    language: str
    speaker: str
    text: str          # the published transcript, ending with sentence punctuation (see fix_text)
    audio: np.ndarray  # int16 at rate
    rate: int
    prompt: str | None  # Asterisk prompt id ("agent-pass"), the same across languages

    @property
    def short(self) -> str:
        return self.prompt or self.id


def fix_text(text: str) -> str:
    """The published text, ending with sentence punctuation so that the verifier splits the
    joined transcript between clips: a period is added when there is none (a trailing ':' is
    replaced by it)."""
    t = " ".join(text.split())
    if t and t[-1] not in ENDERS:
        t = t.rstrip(":").rstrip() + "."
    return t


def prompt_of(cid: str, lang: str) -> str | None:
    head = f"ast-{lang}-"
    return cid[len(head):] if cid.startswith(head) else None


def load_clips(cache: Path, split: str) -> list[Clip]:
    index = json.loads((cache / "index.json").read_text())
    split_doc = json.loads(SPLIT_FILE.read_text())
    sides = {"test": {e["id"] for e in split_doc["test"]}, "dev": set(split_doc["dev"])}
    keep = sides["test"] | sides["dev"] if split == "all" else sides[split]
    clips = []
    for e in index:
        if e["id"] not in keep:
            continue
        audio, rate = sf.read(e["wav"], dtype="int16")
        if audio.ndim > 1:
            audio = audio[:, 0]
        clips.append(Clip(e["id"], e["language"], e["speaker"], fix_text(e["transcript"]), audio, int(rate),
                          prompt_of(e["id"], e["language"])))
    clips.sort(key=lambda c: c.id)
    return clips


def voiced_span(audio: np.ndarray, rate: int) -> tuple[int, int]:
    """First and last sample of the clip's voice (10 ms frames above 5 % of the loudest)."""
    hop = rate // 100
    n = max(1, len(audio) // hop)
    frames = audio[: n * hop].astype(np.float32).reshape(n, hop)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    on = np.flatnonzero(rms > max(0.05 * rms.max(), 30.0))
    if not len(on):
        return 0, len(audio)
    return int(on[0] * hop), int(min(len(audio), (on[-1] + 1) * hop))


def n_sentences(text: str) -> int:
    return len(split_sentences(text))


# --- the labeled items -------------------------------------------------------------------------


@dataclass
class Part:
    """One clip's place in an item: its transcript, what is heard for it, what is expected."""

    text_clip: Clip
    audio: np.ndarray | None   # None: not in the audio at all
    expected: str              # ok / truncated / drifted
    label: str


@dataclass
class Item:
    id: str
    kind: str
    language: str
    parts: list[Part]
    audio: np.ndarray
    rate: int
    drift_language: str | None = None
    transcript: str = field(init=False)
    bounds: list[tuple[int, int, str]] = field(init=False)   # char span of each part, expected

    def __post_init__(self) -> None:
        pieces, bounds, pos = [], [], 0
        for p in self.parts:
            t = p.text_clip.text
            bounds.append((pos, pos + len(t), p.expected))
            pieces.append(t)
            pos += len(t) + 1
        self.transcript = " ".join(pieces)
        self.bounds = bounds

    @property
    def source_language(self) -> str:
        return self.drift_language or SOURCE[self.language]

    def expected_at(self, char_start: int) -> str:
        for a, b, e in self.bounds:
            if a <= char_start < b:
                return e
        return "ok"

    def clip_at(self, char_start: int) -> Clip:
        for (a, b, _), p in zip(self.bounds, self.parts, strict=True):
            if a <= char_start < b:
                return p.text_clip
        return self.parts[-1].text_clip


def join_audio(rng: random.Random, rate: int, pieces: list[np.ndarray]) -> np.ndarray:
    out = []
    for k, a in enumerate(pieces):
        if k:
            out.append(np.zeros(int(round(rng.uniform(0.3, 0.6) * rate)), np.int16))
        out.append(a)
    return np.concatenate(out)


def make_item(kind: str, lang: str, rng: random.Random, parts: list[Part], drift: str | None = None) -> Item:
    rate = parts[0].text_clip.rate
    audio = join_audio(rng, rate, [p.audio for p in parts if p.audio is not None])
    iid = f"{lang}/{kind}/" + "+".join(p.label for p in parts)
    return Item(iid, kind, lang, parts, audio, rate, drift)


def ok(c: Clip) -> Part:
    return Part(c, c.audio, "ok", c.short)


def missing(c: Clip) -> Part:
    return Part(c, None, "truncated", f"{c.short}(missing)")


def cut_half(c: Clip) -> Part:
    a, b = voiced_span(c.audio, c.rate)
    return Part(c, c.audio[: (a + b) // 2], "truncated", f"{c.short}(half)")


def drifted(c: Clip, other: Clip) -> Part:
    return Part(c, other.audio, "drifted", f"{c.short}@{other.language}")


def make_pairs(rng: random.Random, pool: list[Clip], n: int) -> list[tuple[Clip, Clip]]:
    """Up to n ordered pairs of different clips of one speaker, each clip used about equally:
    rounds of a shuffle, paired off consecutively."""
    by_speaker: dict[str, list[Clip]] = defaultdict(list)
    for c in pool:
        by_speaker[c.speaker].append(c)
    usable = [cs for _, cs in sorted(by_speaker.items()) if len(cs) >= 2]
    total = sum(len(cs) * (len(cs) - 1) for cs in usable)
    pairs: list[tuple[Clip, Clip]] = []
    seen: set[tuple[str, str]] = set()
    while len(pairs) < min(n, total):
        before = len(pairs)
        for cs in usable:
            order = cs[:]
            rng.shuffle(order)
            for a, b in zip(order[0::2], order[1::2], strict=False):
                if (a.id, b.id) not in seen and len(pairs) < n:
                    seen.add((a.id, b.id))
                    pairs.append((a, b))
        if len(pairs) == before and len(seen) >= total:
            break
    return pairs


def parallel_of(c: Clip, by_prompt: dict[str, dict[str, Clip]]) -> Clip | None:
    if c.prompt is None:
        return None
    versions = by_prompt.get(c.prompt, {})
    for lang in DRIFT_ORDER[c.language]:
        if lang in versions:
            return versions[lang]
    return None


def partners(rng: random.Random, pool: list[Clip], c: Clip, k: int) -> list[Clip]:
    others = [o for o in pool if o.speaker == c.speaker and o.id != c.id]
    return rng.sample(others, k) if len(others) >= k else []


def seeded(seed: int, lang: str, kind: str) -> random.Random:
    return random.Random(f"{seed}/{lang}/{kind}")


def drift_items(seed: int, lang: str, pool: list[Clip], by_prompt, cap: int) -> list[Item]:
    items = []
    eligible = [c for c in pool if parallel_of(c, by_prompt) is not None]
    for kind in ("drift-second", "drift-first", "drift-middle", "drift+trunc"):
        rng = seeded(seed, lang, kind)
        chosen = {c.id for c in rng.sample(eligible, min(cap, len(eligible)))}
        for c in pool:
            other = parallel_of(c, by_prompt)
            if other is None or c.id not in chosen:
                continue
            need = {"drift-second": 1, "drift-first": 1, "drift-middle": 2, "drift+trunc": 1}[kind]
            mates = partners(rng, pool, c, need)
            if not mates:
                continue
            d = drifted(c, other)
            parts = {"drift-second": [ok(mates[0]), d], "drift-first": [d, ok(mates[0])],
                     "drift-middle": [ok(mates[0]), d, ok(mates[-1])],
                     "drift+trunc": [d, missing(mates[0])]}[kind]
            items.append(make_item(kind, lang, rng, parts, other.language))
    return items


def build_items(clips: list[Clip], seed: int, n_pairs: int, n_faults: int, n_drifts: int) -> list[Item]:
    by_prompt: dict[str, dict[str, Clip]] = defaultdict(dict)
    for c in clips:
        if c.prompt:
            by_prompt[c.prompt][c.language] = c
    items: list[Item] = []
    for lang in TARGETS:
        pool = [c for c in clips if c.language == lang]
        if not pool:
            continue
        items += [make_item("single", lang, seeded(seed, lang, "single"), [ok(c)]) for c in pool]
        rng = seeded(seed, lang, "pair")
        pairs = make_pairs(rng, pool, n_pairs)
        items += [make_item("pair", lang, rng, [ok(a), ok(b)]) for a, b in pairs]
        # the truncations reuse the first clean pairs, so a fault and its clean twin can be compared
        rng = seeded(seed, lang, "trunc-first")
        items += [make_item("trunc-first", lang, rng, [ok(a), missing(b)]) for a, b in pairs[:n_faults]]
        rng = seeded(seed, lang, "trunc-half")
        halves = [(a, b) for a, b in pairs if n_sentences(b.text) == 1][:n_faults]
        items += [make_item("trunc-half", lang, rng, [ok(a), cut_half(b)]) for a, b in halves]
        items += drift_items(seed, lang, pool, by_prompt, n_drifts)
    return items


def limit_items(items: list[Item], limit: int | None) -> list[Item]:
    if not limit:
        return items
    count: dict[tuple[str, str], int] = defaultdict(int)
    kept = []
    for it in items:
        count[(it.language, it.kind)] += 1
        if count[(it.language, it.kind)] <= limit:
            kept.append(it)
    return kept


def print_counts(items: list[Item], split: str) -> None:
    c: dict[tuple[str, str], int] = defaultdict(int)
    for it in items:
        c[(it.language, it.kind)] += 1
    langs = [t for t in TARGETS if any(it.language == t for it in items)]
    print(f"items ({split} split): " + ", ".join(f"{k} {sum(c[(t, k)] for t in langs)}" for k in KINDS)
          + f"; clean answers {sum(1 for it in items if it.kind in CLEAN_KINDS)}, total {len(items)}")
    print("| target | " + " | ".join(KINDS) + " |")
    print("|---|" + "---|" * len(KINDS))
    for t in langs:
        print(f"| {t} | " + " | ".join(str(c[(t, k)]) for k in KINDS) + " |")
    drift = defaultdict(int)
    for it in items:
        if it.drift_language:
            drift[f"{it.language}<-{it.drift_language}"] += 1
    if drift:
        print("drift audio (target<-language of the parallel prompt): "
              + ", ".join(f"{k} {v}" for k, v in sorted(drift.items())))


# --- the measurements --------------------------------------------------------------------------


def wilson(h: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if not n:
        return float("nan"), float("nan")
    p = h / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


class Tally(BaseTally):
    """verify_bench's tally, printed with a 95 % Wilson interval."""

    def cell(self, key: str) -> str:
        n, h = self.c[key + "_n"], self.c[key + "_hit"]
        if not n:
            return "–"
        lo, hi = wilson(h, n)
        return f"{h}/{n} {h / n:.1%} [{lo:.1%}–{hi:.1%}]"


@dataclass
class FormatRun:
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    confusion: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    lat: list[float] = field(default_factory=list)
    lat_clean: list[float] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)


def got_label(seg) -> str:
    return "ok" if seg.status == "ok" else f"{seg.status}/{seg.confidence}"


def tally_item(fr: FormatRun, it: Item, r, expected: list[str]) -> None:
    keys = ("all", it.language)
    red = [s.flagged for s in r.segments]
    differs = [s.status != "ok" for s in r.segments]
    for key in keys:
        tl = fr.tallies[key]
        if it.kind in CLEAN_KINDS:
            tl.add("clean_red", any(red))
            tl.add("clean_any", any(differs))
        else:
            tl.add("located", red == [e != "ok" for e in expected])
            fr.tallies["kind " + it.kind].add("located", red == [e != "ok" for e in expected])
            fr.tallies["kind " + it.kind].add("any_red", any(red))
    for e, s in zip(expected, r.segments, strict=True):
        fr.confusion[(e, got_label(s))] += 1
        for key in keys:
            tl = fr.tallies[key]
            if e == "truncated":
                tl.add("trunc_red", s.flagged)
                tl.add("trunc_recall", s.status == "truncated")
            elif e == "drifted":
                tl.add("drift_red", s.flagged)
                tl.add("drift_lang", s.status == "drifted" and s.heard_language == it.drift_language)
            elif it.kind not in CLEAN_KINDS:
                tl.add("fault_ok_kept", not s.flagged)


def show_item(fmt: str, it: Item, r, expected: list[str], dur: float) -> None:
    got = [got_label(s) for s in r.segments]
    bad = [s.flagged for s in r.segments] != [e != "ok" for e in expected]
    print(f"{'!!' if bad else 'ok'} [{fmt}] {it.id} {dur:4.1f}s {r.elapsed_s:4.2f}s expected={expected} got={got}")
    if bad:
        print(f"     transcript: {it.transcript}")
        for s in r.segments:
            if s.status != "ok":
                print(f"     [{s.index}] {s.status}/{s.confidence} heard={s.heard!r} lang={s.heard_language}")


def run_format(v, items: list[Item], fmt: str, args, offenders) -> FormatRun:
    fr = FormatRun()
    t0 = time.monotonic()
    for k, it in enumerate(items):
        audio, rate = as_format(it.audio, it.rate, fmt)
        r = v.verify(it.transcript, audio, rate, it.language, it.source_language)
        dur = len(audio) / rate
        expected = [it.expected_at(s.char_start) for s in r.segments]
        if 5.5 <= dur <= 9.0:
            fr.lat.append(r.elapsed_s)
            if it.kind in CLEAN_KINDS:
                fr.lat_clean.append(r.elapsed_s)
        tally_item(fr, it, r, expected)
        if it.kind in CLEAN_KINDS:
            for s in r.segments:
                c = it.clip_at(s.char_start)
                offenders[c.id]["n"] += 1
                if s.flagged or s.status != "ok":
                    offenders[c.id]["red" if s.flagged else "amber"] += 1
                    offenders[c.id]["heard"].append(f"{fmt}:{got_label(s)} {s.heard_language} {s.heard!r}")
        fr.results.append({
            "id": it.id, "kind": it.kind, "language": it.language, "format": fmt,
            "source_language": it.source_language, "drift_language": it.drift_language,
            "duration_s": round(dur, 2), "elapsed_s": round(r.elapsed_s, 3), "expected": expected,
            "statuses": [s.status for s in r.segments], "confidence": [s.confidence for s in r.segments],
            "heard_languages": [s.heard_language for s in r.segments], "red": [s.flagged for s in r.segments]})
        if args.verbose:
            show_item(fmt, it, r, expected, dur)
        elif (k + 1) % 100 == 0:
            print(f"  [{fmt}] {k + 1}/{len(items)} in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    return fr


CLEAN_COLS = (("clean_red", "clean answers with a red segment"), ("clean_any", "red + amber"))
FAULT_COLS = (("located", "faults located in red"), ("trunc_red", "truncated segs red"),
              ("trunc_recall", "truncated recall"), ("drift_red", "drifted segs red"),
              ("drift_lang", "drifted, right language"), ("fault_ok_kept", "ok segs of faults not red"))


def print_table(fr: FormatRun, keys: list[str], cols) -> None:
    print("| target | " + " | ".join(name for _, name in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for key in keys:
        if key in fr.tallies:
            print(f"| {key} | " + " | ".join(fr.tallies[key].cell(c) for c, _ in cols) + " |")


def print_format(fr: FormatRun, fmt: str, n: int) -> None:
    keys = ["all", *TARGETS]
    print(f"\n=== real speech: {fmt} ({n} items) ===")
    print_table(fr, keys, CLEAN_COLS)
    print()
    print_table(fr, keys, FAULT_COLS)
    print()
    print("| fault kind | located in red | any red |")
    print("|---|---|---|")
    for kind in FAULT_KINDS:
        tl = fr.tallies.get("kind " + kind)
        if tl is not None:
            print(f"| {kind} | {tl.cell('located')} | {tl.cell('any_red')} |")
    print("segment confusion (expected -> got status/confidence): " + ", ".join(
        f"{e}->{g}: {c}" for (e, g), c in sorted(fr.confusion.items())))
    if fr.lat:
        print(f"latency 5.5–9 s items: p50 {pct(fr.lat, 50):.2f} s, p95 {pct(fr.lat, 95):.2f} s (n={len(fr.lat)})"
              + (f"; clean ones p50 {pct(fr.lat_clean, 50):.2f} s, p95 {pct(fr.lat_clean, 95):.2f} s "
                 f"(n={len(fr.lat_clean)})" if fr.lat_clean else ""))
    else:
        print("latency: no item of 5.5–9 s")


def print_offenders(offenders, clips: dict[str, Clip]) -> None:
    bad = sorted(((o["red"], o["amber"], cid) for cid, o in offenders.items() if o["red"] or o["amber"]),
                 reverse=True)
    if not bad:
        return
    print("\nclips whose sentences were red/amber in clean answers (red, amber, of appearances, all formats):")
    for red, amber, cid in bad:
        o = offenders[cid]
        print(f"  {cid}: red {red}, amber {amber} of {o['n']}  {clips[cid].text!r}")
        for h in sorted(set(o["heard"]))[:3]:
            print(f"      {h}")


def measured_commit() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return f"unknown ({ROOT} is not a git checkout)"
    dirty = git("status", "--short", "--", "app")
    return head + (" + uncommitted changes under app/:\n" + dirty if dirty else " (app/ clean)")


def run(args) -> int:
    from app.verify.verifier import Verifier

    cache = Path(args.cache) if args.cache else CACHE
    if not (cache / "index.json").exists():
        print(f"no {cache / 'index.json'}: run `nice .venv/bin/python bench/realspeech/fetch.py` first")
        return 2
    clips = load_clips(cache, args.split)
    items = limit_items(build_items(clips, args.seed, args.pairs, args.faults, args.drifts), args.limit)
    print(f"verifier at commit {measured_commit()}")
    print_counts(items, args.split)
    v = Verifier(threads=args.threads)
    t = time.monotonic()
    v.load()
    v.verify("Warm up.", np.zeros(8000, np.int16), 16000, "en")
    print(f"model load: {time.monotonic() - t:.2f} s")
    offenders: dict[str, dict] = defaultdict(lambda: {"n": 0, "red": 0, "amber": 0, "heard": []})
    results = []
    t_all = time.monotonic()
    for fmt in (f.strip() for f in args.formats.split(",") if f.strip()):
        fr = run_format(v, items, fmt, args, offenders)
        print_format(fr, fmt, len(items))
        results += fr.results
    print_offenders(offenders, {c.id: c for c in clips})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=0, ensure_ascii=False))
        print(f"per-item results written to {args.json}")
    print(f"\nverification time, all formats: {time.monotonic() - t_all:.0f} s")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["test", "dev", "all"], default="test")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--formats", default="pcm16,g711_ulaw", help="comma-separated: pcm16, g711_ulaw, g711_alaw")
    ap.add_argument("--pairs", type=int, default=40, help="clean pairs per target language (default 40)")
    ap.add_argument("--faults", type=int, default=12,
                    help="trunc-first and trunc-half items per target language (default 12)")
    ap.add_argument("--drifts", type=int, default=12,
                    help="items of each drift kind per target language (default 12), drawn from the clips "
                         "whose prompt exists in another language (12-21 per language)")
    ap.add_argument("--limit", type=int, default=None, help="at most N items per kind and language (quick look)")
    ap.add_argument("--cache", help=f"the fetched corpus (default $VERBATIM_REALSPEECH_CACHE or {CACHE})")
    ap.add_argument("--threads", type=int, default=None, help="Whisper's intra-op threads")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every item's result")
    ap.add_argument("--json", metavar="OUT", help="write per-item results to OUT (diff two runs)")
    args = ap.parse_args(argv)
    os.environ.setdefault("VERBATIM_MODEL_CACHE", "/tmp/verbatim-model-cache")
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
