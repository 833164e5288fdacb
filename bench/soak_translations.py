"""Soak the real window with real work: hundreds of translations on the offline engine.

The window is built as `run_gui` builds it (QApplication, qasync loop, MainWindow with the
silent clocked sink, the local engine, the bundled verifier, history on disk). It then
translates typed phrases in a cycle of plain requests, faulted ones the engine answers with
a truncated or wrong-language audio (repaired automatically), history reopenings and exports,
until both `--translations` and `--minutes` are reached. After `--warmup` translations it
takes a baseline; at the end it prints one JSON object with the growth of RSS (per 100
translations), open file descriptors, threads and live Qt objects.

Bars (issue 24): RSS ≤ 1 MB per 100 translations; fds and threads within ±2; Qt objects ±50.

    python bench/soak_translations.py                         # ≥ 300 translations, ≥ 20 min
    python bench/soak_translations.py --translations 60 --minutes 0 --warmup 20   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHRASES = (
    "Where is the train station?",
    "The museum opens at nine in the morning and closes at six.",
    "Could you tell me how much this costs? I would like to pay by card.",
    "My flight was cancelled. Is there another one tomorrow morning?",
    "Please send the report to the support team before Friday. That is the best way.",
)
# one request in three plain; every phrase meets every fault over 15 requests
FAULTS = (None, {"truncate_after": 1}, {"drift": [{"sentence": 0, "language": "es"}]})


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def qt_objects(app) -> int:
    from PySide6.QtCore import QObject

    return len(app.allWidgets()) + sum(len(w.findChildren(QObject)) for w in app.topLevelWidgets())


def snapshot(app, done: int) -> dict:
    gc.collect()
    return {"translations": done, "rss_mb": round(rss_mb(), 1), "fds": open_fds(),
            "threads": threading.active_count(), "qt_objects": qt_objects(app),
            "time": time.monotonic()}


async def soak(w, app, args, out_dir: Path) -> dict:
    done, faults, repairs, exports, reopened, failures = 0, 0, 0, 0, 0, []
    traced = None
    start = time.monotonic()
    base = None
    samples = []
    while done < args.translations or time.monotonic() - start < args.minutes * 60:
        i = done
        text = PHRASES[i % len(PHRASES)]
        fault = FAULTS[i % len(FAULTS)]
        metadata = {"verbatim_fault": json.dumps(fault)} if fault else None
        w.phrase.setPlainText(text)
        u = await w.translate_now(text, "en", "en", metadata=metadata)
        done += 1
        if u is None:
            failures.append(w.error.text()[:120])
        else:
            faults += fault is not None
            repairs += u.status == "repaired"
        if i % 10 == 5 and u is not None:                 # reopen an earlier answer from history
            rows = w.services.store().list()
            if rows:
                w.open_from_history(rows[min(len(rows) - 1, 3)].id)
                reopened += 1
        if i % 10 == 7 and u is not None and w.history_panel is not None:
            path = out_dir / f"answer-{i % 4}.json"        # overwrite a few names, as people do
            if w.history_panel.export_to(u, str(path), "json"):
                exports += 1
        if done == args.warmup:
            base = snapshot(app, done)
            if args.trace:
                import tracemalloc

                traced = tracemalloc.take_snapshot()
        if base is not None and done % 50 == 0:
            samples.append({k: v for k, v in snapshot(app, done).items() if k != "time"})
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
    end = snapshot(app, done)
    w.close()                   # inside the loop: the engine's sockets close while it still runs
    await asyncio.sleep(0.5)
    growth = []
    if traced is not None:      # where Python memory grew since the baseline (--trace)
        import tracemalloc

        diff = tracemalloc.take_snapshot().compare_to(traced, "lineno")
        growth = [f"{d.size_diff / 1024:+.0f} KiB {d.count_diff:+d} blocks {d.traceback[0]}" for d in diff[:15]]
    counted = max(1, end["translations"] - base["translations"]) if base else 1
    return {
        "translations": done, "minutes": round((time.monotonic() - start) / 60, 1),
        "faulted": faults, "repaired": repairs, "reopened": reopened, "exports": exports,
        "failed": len(failures), "failures": failures[:5],
        "after_warmup": counted,
        "rss_growth_mb_per_100": round((end["rss_mb"] - base["rss_mb"]) * 100 / counted, 2) if base else None,
        "fds_delta": end["fds"] - base["fds"] if base else None,
        "threads_delta": end["threads"] - base["threads"] if base else None,
        "qt_objects_delta": end["qt_objects"] - base["qt_objects"] if base else None,
        "rss_mb_end": end["rss_mb"], "samples": samples, "python_growth": growth,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--translations", type=int, default=300)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--trace", action="store_true", help="tracemalloc: where Python memory grew")
    args = ap.parse_args()
    if args.trace:
        import tracemalloc

        tracemalloc.start(1)
    home = Path(tempfile.mkdtemp(prefix="verbatim-soak-"))
    os.environ.setdefault("XDG_DATA_HOME", str(home / "data"))     # a history of its own
    os.environ.setdefault("XDG_CONFIG_HOME", str(home / "config"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("VERBATIM_AUDIO_OUTPUT", "silent")
    sys.path.insert(0, str(ROOT))

    import qasync
    from PySide6.QtCore import QSettings

    from app.core.settings import Settings
    from app.pipeline.services import Services
    from app.ui.launch import make_app
    from app.ui.main_window import MainWindow
    from tests.helpers import SessionSecrets

    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = Settings(provider="local", voice="alloy", repair_policy="auto")
    w = MainWindow(services=Services(settings, SessionSecrets()),
                   qsettings=QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))
    w.settings = settings
    w.show()
    out_dir = home / "exports"
    out_dir.mkdir()
    with loop:
        result = loop.run_until_complete(soak(w, app, args, out_dir))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
