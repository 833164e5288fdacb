"""Do verdicts depend on the CPU? The verifier over a verdict corpus, as a matrix of
CPU instruction sets × recognizer threads × ±1 LSB dither, counting verdict flips.

    nice .venv/bin/python bench/verdict_matrix.py [--n 60] [--seed 7] [--formats pcm16,g711_ulaw]
        [--index bench/realspeech/index.json] [--cpus AVX2,AVX,GENERIC,MKL] [--threads 1,2]
        [--dither 0,1,2] [--json OUT] [--evidence]

Rule under test: the same audio gives the same verdict on any CPU. Every cell must give
every utterance the segment statuses the reference cell (this CPU's native instruction
set, one thread, no dither) gives it; an utterance whose statuses differ in any cell flips.

Corpus: the labeled synthetic corpus of bench/corpus.py (its builder and its cache,
$VERBATIM_CORPUS_CACHE), each utterance as pcm16 24 kHz and as G.711 μ-law 8 kHz like
bench/verify_bench.py, plus, with `--index`, real recordings listed in a JSON file
([{"wav": path, "transcript": ..., "language": ..., "source_language"?: ...}], paths
relative to the file).

Axes:
- CPU: every `CT2_FORCE_CPU_ISA` this CPU supports (GENERIC, AVX, AVX2, AVX512; from
  /proc/cpuinfo). CTranslate2's int8 matrix products are oneDNN's on AMD, which
  dispatches on its own, so each CPU cell also caps oneDNN (`ONEDNN_MAX_CPU_ISA`): a
  machine without AVX2 lacks it in both. "MKL" is what a GenuineIntel CPU runs by default
  (`CT2_USE_MKL=1`: Intel MKL's int8 GEMM instead of oneDNN's, activations quantized
  differently) — the largest difference between an Intel and an AMD machine. These
  settings are read when CTranslate2 loads, so the script runs itself once per CPU cell
  in a subprocess (`--worker`).
- threads: the Verifier's intra-op threads (`Verifier(threads=…)`).
- dither: seed 0 is the audio as is; other seeds add random integer noise in {-1, 0, +1}
  to the int16 samples as they arrive (after the wire format), ±1 LSB.

Output: per cell and utterance the segment statuses (and `confidence` where the report has
it), the flip rate overall and per axis, the flipping utterances with their statuses per
cell; `--json OUT` writes all of it. `--evidence` keeps the verifier's DEBUG lines (each
word's evidence and each language check) of the flipping utterances, per cell.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

# CT2_FORCE_CPU_ISA -> the oneDNN cap that goes with it (a CPU without AVX2 has neither)
ISA_ONEDNN = {"GENERIC": "SSE41", "AVX": "AVX", "AVX2": "AVX2", "AVX512": "AVX512_CORE"}
ISA_FLAGS = {"AVX": ("avx",), "AVX2": ("avx2", "fma"), "AVX512": ("avx512f", "avx512bw", "avx512vl", "avx512dq")}


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def supported_isas() -> list[str]:
    """The CT2_FORCE_CPU_ISA values this CPU can run, best first (the first is native)."""
    flags = cpu_flags()
    out = [isa for isa in ("AVX512", "AVX2", "AVX") if all(f in flags for f in ISA_FLAGS[isa])]
    return out + ["GENERIC"]


def cpu_env(cpu: str, native: str) -> dict[str, str]:
    """Environment for one CPU cell: an ISA name, or MKL (the Intel default backend, native ISA)."""
    if cpu == "MKL":
        return {"CT2_USE_MKL": "1"}
    env = {"CT2_FORCE_CPU_ISA": cpu, "CT2_USE_MKL": "0"}
    if cpu != native:
        env["ONEDNN_MAX_CPU_ISA"] = ISA_ONEDNN[cpu]
    return env


def dither(pcm: np.ndarray, seed: int) -> np.ndarray:
    """±1 LSB of random integer noise on int16 samples (seed 0: unchanged)."""
    if seed == 0:
        return pcm
    noise = np.random.default_rng(seed).integers(-1, 2, size=pcm.shape)
    return np.clip(pcm.astype(np.int32) + noise, -32768, 32767).astype(np.int16)


# --- the corpus (built once, by the parent; workers read the same samples) -----------------------


def build_items(args) -> list[dict]:
    from corpus import make_corpus
    from verify_bench import as_format, source_of

    items = []
    t = time.monotonic()
    corpus = make_corpus(args.n, args.seed, args.voices) if args.n > 0 else []
    print(f"corpus: {len(corpus)} synthetic utterances in {time.monotonic() - t:.1f} s")
    fmts = [f.strip() for f in args.formats.split(",") if f.strip()]
    for u in corpus:
        for fmt in fmts:
            pcm, rate = as_format(u.audio, u.rate, fmt)
            items.append({"id": f"{u.id}|{fmt}", "transcript": u.transcript, "language": u.language,
                          "source": source_of(u, args), "expected": u.expected, "voice": u.voice,
                          "pcm": np.asarray(pcm, np.int16), "rate": int(rate)})
    if args.index:
        items += real_items(Path(args.index), fmts)
    return items


def real_items(index: Path, fmts: list[str]) -> list[dict]:
    """Real-speech clips from a JSON list of {wav, transcript, language[, source_language, expected]}."""
    from verify_bench import as_format

    from app.audio.wavfile import read_wav

    if not index.exists():
        print(f"(no real-speech index at {index}: synthetic corpus only)")
        return []
    entries = json.loads(index.read_text())
    out = []
    for k, e in enumerate(entries):
        wav = Path(e["wav"])
        wav = wav if wav.is_absolute() else index.parent / wav
        try:
            pcm, rate = read_wav(wav.read_bytes())
        except Exception as exc:   # a clip still being written by whoever builds the index
            print(f"   skipping {wav}: {exc}")
            continue
        pcm = np.asarray(pcm)
        if pcm.ndim > 1:
            pcm = pcm.mean(axis=1).astype(np.int16)
        for fmt in fmts:
            p, r = as_format(pcm, int(rate), fmt)
            out.append({"id": f"real{k:03d}-{wav.stem}|{fmt}", "transcript": e["transcript"],
                        "language": e["language"], "source": e.get("source_language"),
                        "expected": e.get("expected"), "voice": "real", "pcm": np.asarray(p, np.int16),
                        "rate": int(r)})
    print(f"real speech: {len(out)} clip×format items from {index}")
    return out


def save_items(items: list[dict], path: Path) -> None:
    meta = [{k: v for k, v in it.items() if k != "pcm"} for it in items]
    arrays = {f"a{i}": it["pcm"] for i, it in enumerate(items)}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def load_items(path: Path) -> list[dict]:
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        for i, m in enumerate(meta):
            m["pcm"] = z[f"a{i}"]
    return meta


# --- one CPU cell (a subprocess): every thread count × dither seed --------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name.rsplit('.', 1)[-1]}: {record.getMessage()}")


def segment_view(report) -> dict:
    segs = []
    for s in report.segments:
        d = s.to_dict() if hasattr(s, "to_dict") else {}
        segs.append({"status": s.status, "confidence": d.get("confidence", getattr(s, "confidence", None)),
                     "heard_language": s.heard_language})
    return {"statuses": [s["status"] for s in segs], "confidence": [s["confidence"] for s in segs],
            "heard_languages": [s["heard_language"] for s in segs], "verdict": report.verdict}


def worker(args) -> int:
    os.environ.setdefault("VERBATIM_MODEL_CACHE", "/tmp/verbatim-model-cache")
    try:
        from app.verify.verifier import Verifier
    except ImportError:          # the verifier may have moved within app.verify
        from app.verify import Verifier
    items = load_items(Path(args.items))
    handler = _Lines()
    vlog = logging.getLogger("app.verify")
    if args.evidence:
        vlog.setLevel(logging.DEBUG)
        vlog.addHandler(handler)
        vlog.propagate = False
    pairs = [tuple(int(x) for x in pr.split(":")) for pr in args.pairs.split(",")]
    out: dict[str, dict] = {}
    for th in dict.fromkeys(t for t, _ in pairs):
        v = Verifier(threads=th)
        t = time.monotonic()
        v.load()
        v.verify("Warm up.", np.zeros(8000, np.int16), 16000, "en")
        print(f"[{args.worker}] threads {th}: model load {time.monotonic() - t:.1f} s", flush=True)
        for seed in (s for t, s in pairs if t == th):
            cell = f"{args.worker}/t{th}/d{seed}"
            t = time.monotonic()
            res = {}
            for it in items:
                handler.lines = []
                r = v.verify(it["transcript"], dither(it["pcm"], seed), it["rate"], it["language"], it["source"])
                view = segment_view(r)
                view["elapsed_s"] = round(r.elapsed_s, 3)
                if args.evidence:
                    view["evidence"] = handler.lines
                res[it["id"]] = view
            out[cell] = res
            Path(args.out).write_text(json.dumps(out))   # after every cell: a cut-short run keeps what it did
            print(f"[{args.worker}] {cell}: {len(items)} verifications in {time.monotonic() - t:.0f} s",
                  flush=True)
        del v
    return 0


# --- the matrix ----------------------------------------------------------------------------------


def plan(args, cpus: list[str], native: str) -> dict[str, list[tuple[int, int]]]:
    """(threads, dither seed) pairs to run per CPU cell. full: every combination; star: the
    reference plus every other value of one axis at a time (the others at the reference)."""
    threads = [int(t) for t in args.threads.split(",")]
    seeds = [int(s) for s in args.dither.split(",")]
    if args.design == "full":
        return {cpu: [(t, s) for t in threads for s in seeds] for cpu in cpus}
    ref = (threads[0], seeds[0])
    out = {cpu: [ref] for cpu in cpus}
    out[native] = [ref] + [(t, seeds[0]) for t in threads[1:]] + [(threads[0], s) for s in seeds[1:]]
    return out


def run_cells(args, cpus: list[str], native: str, items_path: Path, tmp: Path) -> dict[str, dict]:
    cells: dict[str, dict] = {}
    pairs = plan(args, cpus, native)
    for cpu in cpus:
        out = tmp / f"cell-{cpu}.json"
        env = dict(os.environ)
        for k in ("CT2_FORCE_CPU_ISA", "CT2_USE_MKL", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
            env.pop(k, None)
        env.update(cpu_env(cpu, native))
        # niceness args.nice in all (the parent already run under `nice` passes on its own)
        cmd = ["nice", "-n", str(max(0, args.nice - os.nice(0))), sys.executable, str(Path(__file__).resolve()), "--worker", cpu,
               "--items", str(items_path), "--out", str(out), "--pairs", ",".join(f"{t}:{s}" for t, s in pairs[cpu])]
        if args.evidence:
            cmd.append("--evidence")
        t = time.monotonic()
        shown = " ".join(f"{k}={v}" for k, v in cpu_env(cpu, native).items())
        print(f"--- CPU cell {cpu} ({shown})", flush=True)
        rc = subprocess.call(cmd, env=env)
        if rc != 0:
            print(f"!! CPU cell {cpu} failed (exit {rc}); keeping the cells it finished")
        if out.exists():
            cells.update(json.loads(out.read_text()))
        print(f"--- CPU cell {cpu}: {time.monotonic() - t:.0f} s", flush=True)
    return cells


def parse_cell(cell: str) -> tuple[str, int, int]:
    cpu, th, d = cell.split("/")
    return cpu, int(th[1:]), int(d[1:])


def analyse(cells: dict[str, dict], ref: str, items: list[dict]) -> dict:
    ids = [it["id"] for it in items]
    base = cells[ref]
    rcpu, rth, rd = parse_cell(ref)
    flips: dict[str, list[str]] = {}          # utterance -> cells where its statuses differ
    per_cell = {}
    for cell, res in cells.items():
        bad = [i for i in ids if res[i]["statuses"] != base[i]["statuses"]]
        per_cell[cell] = len(bad)
        for i in bad:
            flips.setdefault(i, []).append(cell)
    conf_flips = sorted(i for i in ids if any(res[i]["confidence"] != base[i]["confidence"]
                                              for res in cells.values()))
    # per axis: the cells that differ from the reference on that axis only
    axes: dict[str, dict[str, int]] = defaultdict(dict)
    for cell in cells:
        cpu, th, d = parse_cell(cell)
        diff = [name for name, a, b in (("cpu", cpu, rcpu), ("threads", th, rth), ("dither", d, rd)) if a != b]
        if len(diff) == 1:
            axes[diff[0]][cell] = per_cell[cell]
    any_axis = {}
    for axis in ("cpu", "threads", "dither"):
        c = [cell for cell in cells if cell != ref and _differs_only(cell, ref, axis)]
        any_axis[axis] = sorted({i for i in ids if any(cell in flips.get(i, []) for cell in c)})
    return {"reference": ref, "n_utterances": len(ids), "n_cells": len(cells), "per_cell": per_cell,
            "single_axis": axes, "flipping_by_axis": any_axis, "flips": flips, "confidence_flips": conf_flips}


def _differs_only(cell: str, ref: str, axis: str) -> bool:
    """Does `cell` differ from `ref` in `axis` (whatever the others)? For axis attribution:
    a cell counts for every axis it moves."""
    a, b = parse_cell(cell), parse_cell(ref)
    k = {"cpu": 0, "threads": 1, "dither": 2}[axis]
    return a[k] != b[k]


def report(res: dict, cells: dict[str, dict], items: list[dict]) -> None:
    n = res["n_utterances"]
    flips = res["flips"]
    print()
    print(f"=== verdict matrix: {n} utterance×format items × {res['n_cells']} cells; reference {res['reference']} ===")
    print(f"utterances that flip in any cell: {len(flips)}/{n} ({len(flips) / max(1, n):.1%})")
    for axis in ("cpu", "threads", "dither"):
        single = res["single_axis"].get(axis, {})
        s = ", ".join(f"{c}: {k}" for c, k in sorted(single.items()))
        f = res["flipping_by_axis"][axis]
        print(f"  {axis}: alone vs reference [{s}]; in any cell moving {axis}: {len(f)}/{n} "
              f"({len(f) / max(1, n):.1%})")
    print("flips per cell: " + ", ".join(f"{c} {k}" for c, k in sorted(res["per_cell"].items())))
    if res["confidence_flips"]:
        print(f"confidence differs somewhere (statuses may agree): {len(res['confidence_flips'])} items")
    by_id = {it["id"]: it for it in items}
    ref = res["reference"]
    for i, where in sorted(flips.items()):
        it = by_id[i]
        print(f"\n!! {i} ({it['voice']}, {it['language']}, source {it['source']}) expected={it['expected']}: "
              f"differs in {len(where)} of {len(cells) - 1} cells")
        print(f"   transcript: {it['transcript']}")
        groups: dict[tuple, list[str]] = defaultdict(list)
        for cell in sorted(cells):
            r = cells[cell][i]
            groups[(tuple(r["statuses"]), tuple(str(c) for c in r["confidence"]))].append(cell)
        for (st, conf), cs in sorted(groups.items(), key=lambda g: -len(g[1])):
            mark = "ref" if ref in cs else "   "
            print(f"   {mark} {list(st)} conf={list(conf)}: {len(cs)} cells: {' '.join(cs)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60, help="synthetic utterances (default 60; 0: none)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--voices", choices=["mixed", "espeak"], default="mixed")
    ap.add_argument("--formats", default="pcm16,g711_ulaw")
    ap.add_argument("--index", metavar="PATH", help="JSON list of real-speech clips (bench/realspeech/)")
    ap.add_argument("--cpus", help="CPU cells, comma-separated (default: every supported ISA, then MKL)")
    ap.add_argument("--no-mkl", action="store_true", help="leave out the MKL (Intel default backend) cell")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dither", default="0,1,2", help="dither seeds; 0 = none")
    ap.add_argument("--design", choices=["full", "star"], default="full",
                    help="full: every CPU × threads × dither cell; star: the reference and one axis moved at a time")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--evidence", action="store_true", help="keep the verifier's DEBUG lines of flipping items")
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the items and cell files there "
                    "(default: a temporary directory)")
    ap.add_argument("--analyse", metavar="DIR", help="only report on the cells a --keep DIR holds (a cut-short run)")
    ap.add_argument("--no-source-hint", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--items", help=argparse.SUPPRESS)
    ap.add_argument("--pairs", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    os.environ.setdefault("VERBATIM_MODEL_CACHE", "/tmp/verbatim-model-cache")
    t0 = time.monotonic()
    isas = supported_isas()
    native = isas[0]
    cpus = [c.strip() for c in args.cpus.split(",")] if args.cpus else isas + ([] if args.no_mkl else ["MKL"])
    if native not in cpus:
        cpus.insert(0, native)
    ref = f"{native}/t{args.threads.split(',')[0]}/d{args.dither.split(',')[0]}"
    print(f"CPU flags support {isas} (native {native}); cells ({args.design}): cpus {cpus} × threads "
          f"{args.threads} × dither {args.dither}; reference {ref}")
    if args.analyse:
        work = Path(args.analyse)
        items = load_items(work / "items.npz")
        cells = {}
        for f in sorted(work.glob("cell-*.json")):
            cells.update(json.loads(f.read_text()))
    elif args.keep:
        work = Path(args.keep)
        work.mkdir(parents=True, exist_ok=True)
        items = build_items(args)
        save_items(items, work / "items.npz")
        cells = run_cells(args, cpus, native, work / "items.npz", work)
    else:
        items = build_items(args)
        with tempfile.TemporaryDirectory(prefix="verdict-matrix-") as td:
            save_items(items, Path(td) / "items.npz")
            cells = run_cells(args, cpus, native, Path(td) / "items.npz", Path(td))
    if ref not in cells:
        print("!! the reference cell did not run")
        return 1
    res = analyse(cells, ref, items)
    report(res, cells, items)
    elapsed = time.monotonic() - t0
    print(f"\ntotal time {elapsed / 60:.1f} min ({len(cells) * len(items)} verifications)")
    if args.json:
        flipping = set(res["flips"])
        out = {"summary": res, "elapsed_s": round(elapsed), "cpus": cpus, "native": native,
               "items": [{k: v for k, v in it.items() if k != "pcm"} for it in items],
               "cells": {c: {i: ({k: v for k, v in r.items() if k != "evidence"} if i not in flipping else r)
                             for i, r in res_c.items()} for c, res_c in cells.items()}}
        Path(args.json).write_text(json.dumps(out, indent=1))
        print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
