"""Footprint and smoothness of the whole app in one run (issue 16):

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/footprint_bench.py [--long-seconds 180] [--json]

Starts the real window in a child process (local engine, silent sink, throwaway data
folder) and drives a session: idle after start, a first request, the seed cases with
their faults, one automatically repaired, then one long answer (3 minutes of speech by
default) streamed through the window. Meanwhile this process samples the memory (PSS) of
the child *and all its descendants* every 30 ms. Printed:

- peak RSS of the process tree (goal < 600 MB), per phase;
- the longest Qt-loop stall per phase, first request included (goal <= 50 ms), with the
  Python stack the UI thread was in during each stall over 30 ms;
- bundle size on disk when dist/verbatim exists (goal < 450 MB);
- history bytes per second of stored audio;
- the long answer: stalls, underruns of the silent sink once playback started,
  verification RTF (goal <= 0.15), and RSS before / peak / after (memory flat).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STALL_TRACE_S = 0.030

LONG_SENTENCES = [
    "The morning train to the coast leaves from platform four at a quarter past eight.",
    "Please remember to bring your passport, because the border checks have become stricter this year.",
    "We will stop for lunch in a small village where the bakery is famous for its almond cake.",
    "If the weather stays clear, the afternoon is free for a walk along the cliffs.",
    "In the evening there is a concert in the old church, and tickets are included in the price.",
    "Breakfast is served between seven and ten, and the kitchen can prepare food for special diets.",
    "Anyone who feels unwell should tell the guide, who carries a first aid kit at all times.",
    "On the last day we return by bus, which takes about four hours with one short break.",
]


# --- process tree memory ------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


def tree_rss_mb(pid: int) -> float:
    """Memory of `pid` and every descendant, in MB, as the sum of their PSS (pages shared
    after a fork count once). A child still running its parent's command line is a fork or
    vfork about to exec (ctypes.util.find_library runs ldconfig that way): it is skipped, as
    a vfork child reports its parent's whole address space as its own."""
    kids = _children()
    todo, total = [(pid, None)], 0
    while todo:
        p, parent_cmd = todo.pop()
        cmd = _cmdline(p)
        todo.extend((k, cmd) for k in kids.get(p, []))
        if parent_cmd is not None and cmd == parent_cmd:
            continue
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def smaps_by_library(pid: int, top: int = 12) -> list[tuple[str, float]]:
    """Resident MB per mapped file (shared libraries, models) and for anonymous memory
    (Python objects, model weights and activations, malloc heaps)."""
    groups: dict[str, int] = {}
    name = "?"
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                first = line.split(None, 1)[0]
                if "-" in first and not first.endswith(":"):      # a mapping header
                    parts = line.split()
                    path = parts[5] if len(parts) > 5 else ""
                    name = os.path.basename(path) if path.startswith("/") else (path or "[anon]")
                elif first == "Rss:":
                    groups[name] = groups.get(name, 0) + int(line.split()[1])
    except OSError:
        return []
    out = sorted(((k, v / 1024) for k, v in groups.items()), key=lambda kv: -kv[1])
    return [(k, round(v, 1)) for k, v in out[:top]]


def dir_mb(path: Path) -> float:
    """Size in MiB (what `du -sm` and the build script print)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total / 2 ** 20


# --- parent: run the session in a child and watch its memory ---------------------------------
def run_parent(args) -> dict:
    data = Path(tempfile.mkdtemp(prefix="verbatim-footprint-"))
    result_file = data / "result.json"
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               VERBATIM_AUDIO_OUTPUT="silent", VERBATIM_DATA_DIR=str(data / "data"),
               PYTHONPATH=str(ROOT))
    cmd = [sys.executable, __file__, "--session", str(data), "--long-seconds", str(args.long_seconds)]
    t0 = time.monotonic()
    err_file = open(data / "stderr.txt", "w+")
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err_file, text=True)
    current = ["start"]

    def read_phases() -> None:   # the child announces phases on stdout (no disk work on its UI thread)
        for line in child.stdout:
            if line.startswith("PHASE "):
                current[0] = line.split(None, 1)[1].strip()

    reader = threading.Thread(target=read_phases, daemon=True)
    reader.start()
    peaks: dict[str, float] = {}
    timeline: list[tuple[float, str, float]] = []
    at_peak: list = []
    top = 0.0
    while child.poll() is None:
        rss = tree_rss_mb(child.pid)
        phase = current[0]
        peaks[phase] = max(peaks.get(phase, 0.0), rss)
        if rss > top + 10:      # where the memory is, near the session's peak
            top = rss
            at_peak = smaps_by_library(child.pid)
        timeline.append((time.monotonic() - t0, phase, rss))
        time.sleep(0.03)
    reader.join(5)
    err_file.seek(0)
    err = err_file.read()
    if child.returncode != 0 or not result_file.exists():
        sys.stderr.write(err[-4000:])
        raise SystemExit(f"session failed (exit {child.returncode})")
    session = json.loads(result_file.read_text())
    long_rss = [r for _t, ph, r in timeline if ph == "long-answer"]
    before = [r for _t, ph, r in timeline if ph == "long-idle-before"]
    after = [r for _t, ph, r in timeline if ph == "long-idle-after"]
    if session.get("long"):
        session["long"]["rss_mb"] = {
            "before": round(before[-1], 1) if before else None,
            "peak_during": round(max(long_rss), 1) if long_rss else None,
            "after": round(after[-1], 1) if after else None,
        }
    bundle = ROOT / "dist" / "verbatim"
    report = {
        "peak_rss_tree_mb": round(max(peaks.values()), 1),
        "peak_rss_tree_mb_by_phase": {k: round(v, 1) for k, v in peaks.items()},
        "rss_at_peak_by_mapping_mb": at_peak,
        **session,
        "bundle_mb": round(dir_mb(bundle), 1) if bundle.is_dir() else None,
    }
    return report


# --- child: the session itself ---------------------------------------------------------------
class StallWatch:
    """A 5 ms QTimer records loop gaps; a watchdog thread samples the UI thread's Python
    stack whenever the loop has not ticked for STALL_TRACE_S, to say what it was doing."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.main_ident = threading.get_ident()
        self.last = time.monotonic()
        self.phase = "start"
        self.max_gap: dict[str, float] = {}
        self.stacks: list[dict] = []
        self._current: dict | None = None
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)
        self.timer.start()
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="stall-watch").start()

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.last = time.monotonic()

    def _beat(self) -> None:
        now = time.monotonic()
        gap = now - self.last - 0.005
        self.last = now
        self.max_gap[self.phase] = max(self.max_gap.get(self.phase, 0.0), gap)
        if self._current is not None:
            self._current["ms"] = round(gap * 1000, 1)
            self.stacks.append(self._current)
            self._current = None

    def _watch(self) -> None:
        while not self._stop.wait(0.004):
            if time.monotonic() - self.last < STALL_TRACE_S:
                continue
            frame = sys._current_frames().get(self.main_ident)
            if frame is None:
                continue
            where = [f"{Path(fs.filename).name}:{fs.lineno} {fs.name}"
                     for fs in traceback.extract_stack(frame)[-6:]]
            if self._current is None:
                self._current = {"phase": self.phase, "samples": {}}
            key = " <- ".join(reversed(where))
            self._current["samples"][key] = self._current["samples"].get(key, 0) + 1

    def stop(self) -> None:
        self._stop.set()
        self.timer.stop()


def summarize_stalls(stacks: list[dict], top: int = 10) -> list[dict]:
    """The longest stalls with where the UI thread's Python code was. `run_forever` means it
    was not running Python at all: inside Qt, or waiting for the GIL or a CPU."""
    out = []
    for s in sorted(stacks, key=lambda s: -(s.get("ms") or 0))[:top]:
        where = sorted(s["samples"].items(), key=lambda kv: -kv[1])
        names = [w.split(" <- ")[0] + (" <- " + w.split(" <- ")[1] if " <- " in w else "") for w, _n in where[:2]]
        out.append({"phase": s["phase"], "ms": s.get("ms"),
                    "where": ["(Qt / GIL / CPU)" if "run_forever" in n.split(" <- ")[0] else n for n in names]})
    return out


def long_text(seconds: float) -> str:
    words_needed = int(seconds * 3.5)      # Piper reads about 3.5 words a second
    out, n, i = [], 0, 0
    while n < words_needed:
        s = LONG_SENTENCES[i % len(LONG_SENTENCES)]
        out.append(s)
        n += len(s.split())
        i += 1
    return " ".join(out)


async def session(window, watch: StallWatch, data: Path, long_seconds: float) -> dict:
    import asyncio

    from app.engine import seed_cases

    def phase(name: str) -> None:
        watch.set_phase(name)
        print("PHASE", name, flush=True)

    async def translate(text, source="en", target="en", metadata=None):
        window.phrase.setPlainText(text)
        u = await window.translate_now(text, source, target, metadata=metadata)
        t_end = time.monotonic()
        while u is not None and u.report is None and "unverified" not in u.meta and time.monotonic() - t_end < 300:
            await asyncio.sleep(0.02)
        return u

    saved: list = []
    phase("idle-after-start")
    await asyncio.sleep(2.0)
    phase("first-request")
    saved.append(await translate("Where is the train station? I need to be there by ten."))
    phase("later-requests")
    window.settings.repair_policy = "off"
    await window.reset_connection()
    for cid, case in sorted(seed_cases().items()):
        meta = {"verbatim_fault": json.dumps({"case": cid})}
        saved.append(await translate(case["transcript"], "es", "en", meta))
    window.settings.repair_policy = "automatic"
    await window.reset_connection()
    case = seed_cases()["drifted-truncated-1"]
    saved.append(await translate(case["transcript"], "es", "en",
                                 {"verbatim_fault": json.dumps({"case": "drifted-truncated-1"})}))
    window.settings.repair_policy = "off"
    await window.reset_connection()
    # warm the new connection so the long answer measures streaming, not connecting
    saved.append(await translate("Ready when you are."))

    long = None
    if long_seconds > 0:
        phase("long-idle-before")
        await asyncio.sleep(1.0)
        phase("long-answer")
        player = window.player
        text = long_text(long_seconds)
        watch_under: dict = {}

        async def watch_player():
            while True:
                st = player.stats
                if st.first_handed_t is not None and "at_start" not in watch_under:
                    watch_under["at_start"] = st.underruns
                if player.finished_loading and "at_end" not in watch_under and "at_start" in watch_under:
                    watch_under["at_end"] = st.underruns
                await asyncio.sleep(0.01)

        wp = asyncio.ensure_future(watch_player())
        t0 = time.monotonic()
        u = await window.translate_now(text, "en", "en")
        t_done = time.monotonic()
        while u is not None and u.report is None and "unverified" not in u.meta and time.monotonic() - t_done < 600:
            await asyncio.sleep(0.02)
        wp.cancel()
        saved.append(u)
        dur = u.duration_s if u else 0.0
        verify_s = (u.timings.get("verify_s") if u else None)
        long = {
            "audio_s": round(dur, 1),
            "chars": len(text),
            "stream_s": round(t_done - t0, 1),
            "longest_stall_ms": round(1000 * watch.max_gap.get("long-answer", 0.0), 1),
            "underruns_while_streaming": (watch_under.get("at_end", player.stats.underruns)
                                          - watch_under.get("at_start", 0)),
            "first_delta_to_device_ms": (round(1000 * player.stats.first_delta_to_device_s, 1)
                                         if player.stats.first_delta_to_device_s is not None else None),
            "verify_s": round(verify_s, 2) if verify_s else None,
            "verify_rtf": round(verify_s / dur, 3) if verify_s and dur else None,
            "status": u.status if u else None,
        }
        phase("long-idle-after")
        await asyncio.sleep(1.5)

    phase("end")
    return {"long": long, "saved": [u.status if u else None for u in saved]}


def history_bytes_per_audio_second(data_dir: Path) -> dict | None:
    """Everything history keeps on disk (database + audio files) per second of audio in it."""
    import soundfile

    total_bytes, seconds, files = 0, 0.0, 0
    for root, _dirs, names in os.walk(data_dir):
        for name in names:
            p = Path(root) / name
            total_bytes += p.stat().st_size
            if p.suffix.lower() in (".wav", ".flac", ".ogg", ".opus"):
                try:
                    info = soundfile.info(str(p))
                    seconds += info.frames / info.samplerate
                    files += 1
                except Exception:
                    pass
    if not seconds:
        return None
    return {"bytes_per_audio_s": round(total_bytes / seconds), "audio_files": files,
            "audio_s": round(seconds, 1), "total_mb": round(total_bytes / 1e6, 2)}


# --- what each start-up job costs the UI thread, alone -----------------------------------------
def _job_verifier() -> None:
    from app.verify.worker import VerifierWorker

    VerifierWorker().warm().result()


def _job_engine() -> None:
    from app.engine import LocalEngine

    LocalEngine(host="127.0.0.1", port=0).start_in_thread()


def _job_ct2_load() -> None:
    import ctranslate2

    from app.verify.models import resolve_model

    ctranslate2.models.Whisper(str(resolve_model()), device="cpu", compute_type="int8", intra_threads=2)


def _job_tokenizer() -> None:
    import tokenizers

    from app.verify.models import resolve_model

    tokenizers.Tokenizer.from_file(str(resolve_model() / "tokenizer.json"))


def _job_imports() -> None:
    from app.core.warmup import warm_imports

    warm_imports()


def _job_language_id() -> None:
    from app.core.warmup import warm_language_id

    warm_language_id()


START_UP_JOBS = {"nothing": lambda: time.sleep(1.0), "warm-up imports": _job_imports,
                 "language id": _job_language_id, "engine start": _job_engine,
                 "verifier load": _job_verifier, "  of which CTranslate2 load": _job_ct2_load,
                 "  of which tokenizer.json": _job_tokenizer}


def job_cost(name: str) -> dict:
    """Run one start-up job on a thread while this (main) thread ticks every 1 ms: the longest
    gap is the longest the job kept the UI thread from running (GIL held in native code, or CPU)."""
    if "of which" in name:     # the parts of the verifier load: imports done first
        import app.verify.asr  # noqa: F401
    done, took = threading.Event(), []
    t0 = time.monotonic()

    def run():
        try:
            START_UP_JOBS[name]()
        finally:
            took.append(time.monotonic() - t0)
            done.set()
    threading.Thread(target=run, daemon=True).start()
    last, gaps = time.monotonic(), [0.0]
    while not done.is_set():
        time.sleep(0.001)
        now = time.monotonic()
        gaps.append(now - last)
        last = now
    return {"job": name, "s": round(took[0], 2), "max_gap_ms": round(1000 * max(gaps)),
            "gaps_over_30ms": sum(g > 0.030 for g in gaps)}


def print_job_costs() -> None:
    """Each job in a fresh process (imports and loads are once per process)."""
    print("start-up job                  took   longest UI-thread gap   gaps > 30 ms")
    env = dict(os.environ, PYTHONPATH=str(ROOT), VERBATIM_AUDIO_OUTPUT="silent")
    for name in START_UP_JOBS:
        r = subprocess.run([sys.executable, __file__, "--job-cost", name], capture_output=True, text=True,
                           env=env, timeout=300)
        try:
            c = json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            print(f"{name:28s}  failed: {r.stderr.strip()[-200:]}")
            continue
        print(f"{name:28s} {c['s']:5.2f} s   {c['max_gap_ms']:5d} ms               {c['gaps_over_30ms']}")


def run_session(data: Path, long_seconds: float) -> None:
    import asyncio

    import qasync
    from PySide6.QtCore import QSettings

    t0 = time.monotonic()
    try:
        from app.core.memory import tune_allocator
    except ImportError:   # a checkout from before the allocator setting (for before/after runs)
        tune_allocator = None
    if tune_allocator is not None:
        tune_allocator()   # as app/__main__.py does
    from app.ui.launch import make_app

    app = make_app()
    app.setQuitOnLastWindowClosed(False)   # closing the window must not stop the loop mid-report
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def main():
        from app.ui.main_window import MainWindow

        watch = StallWatch()
        window = MainWindow(qsettings=QSettings(str(data / "settings.ini"), QSettings.Format.IniFormat))
        window.settings.provider = "local"
        window.settings.voice = "alloy"
        window.settings.repair_policy = "off"
        window.services.settings = window.settings
        window.show()
        start_s = time.monotonic() - t0
        try:
            from app.core.warmup import warm_in_background
        except ImportError:   # a checkout from before the warm-up (for before/after runs)
            warm_in_background = None
        if warm_in_background is not None:
            warm_in_background()   # as app/cli.py gui_main does
        try:
            result = await session(window, watch, data, long_seconds)
        finally:
            watch.stop()
        result["start_to_window_s"] = round(start_s, 2)
        result["stall_ms_by_phase"] = {k: round(v * 1000, 1) for k, v in watch.max_gap.items()}
        result["stalls_over_30ms"] = summarize_stalls(watch.stacks)
        window.close()
        await asyncio.sleep(0.2)
        result["history"] = history_bytes_per_audio_second(data / "data")
        (data / "result.json").write_text(json.dumps(result))

    with loop:
        loop.run_until_complete(main())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--long-seconds", type=float, default=180.0, help="length of the long answer (0: skip)")
    ap.add_argument("--json", action="store_true", help="print the whole report as JSON")
    ap.add_argument("--job-costs", action="store_true",
                    help="only: what each start-up job, run alone, costs the UI thread")
    ap.add_argument("--job-cost", help=argparse.SUPPRESS)
    ap.add_argument("--session", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job_cost:
        print(json.dumps(job_cost(args.job_cost)))
        return
    if args.job_costs:
        print_job_costs()
        return
    if args.session:
        run_session(Path(args.session), args.long_seconds)
        return
    report = run_parent(args)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    stalls = report["stall_ms_by_phase"]
    print(f"peak memory, process tree   {report['peak_rss_tree_mb']:.0f} MB (sum of PSS)   (goal < 600)")
    print("  by phase                  " + ", ".join(f"{k} {v:.0f}" for k, v in report["peak_rss_tree_mb_by_phase"].items()))
    print("  near the peak, by mapping " + ", ".join(f"{k} {v:.0f}" for k, v in report["rss_at_peak_by_mapping_mb"]))
    print(f"start to window             {report['start_to_window_s']:.2f} s")
    print(f"loop stall, first request   {stalls.get('first-request', 0):.0f} ms   (goal <= 50)")
    print(f"loop stall, later requests  {stalls.get('later-requests', 0):.0f} ms")
    print(f"loop stall, idle after start {stalls.get('idle-after-start', 0):.0f} ms")
    print("  longest stalls, and what the UI thread was running:")
    for s in report["stalls_over_30ms"]:
        print(f"    {s['phase']:18s} {s['ms']:6.1f} ms  {' | '.join(s['where']) or '?'}")
    b = report["bundle_mb"]
    print(f"bundle on disk              {b:.0f} MiB   (goal < 450)" if b else "bundle on disk              (no dist/verbatim)")
    h = report.get("history")
    if h:
        print(f"history                     {h['bytes_per_audio_s']} bytes per audio second "
              f"({h['audio_files']} files, {h['audio_s']} s, {h['total_mb']} MB)")
    lg = report.get("long")
    if lg:
        rss = lg.get("rss_mb", {})
        print(f"long answer                 {lg['audio_s']} s of audio streamed in {lg['stream_s']} s, status {lg['status']}")
        print(f"  longest stall             {lg['longest_stall_ms']} ms   (goal <= 50)")
        print(f"  underruns while streaming {lg['underruns_while_streaming']}")
        print(f"  verification              {lg['verify_s']} s, RTF {lg['verify_rtf']}   (goal <= 0.15)")
        print(f"  memory before/peak/after   {rss.get('before')} / {rss.get('peak_during')} / {rss.get('after')} MB")


if __name__ == "__main__":
    main()
