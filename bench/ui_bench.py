"""Window figures: first audio delta → device, and the longest Qt event-loop stall while
a translation streams, plays and is verified.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_bench.py [--runs 5]

Uses the real window, the local engine and the silent sink (whose callback runs on the
same real-time schedule as a sound card's). A 5 ms QTimer records every gap between its
ticks; a gap beyond 5 ms is time the loop could not run."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VERBATIM_AUDIO_OUTPUT", "silent")
if "VERBATIM_DATA_DIR" not in os.environ:   # never write into the user's own history
    import tempfile as _tempfile

    os.environ["VERBATIM_DATA_DIR"] = _tempfile.mkdtemp(prefix="verbatim-bench-")

PHRASES = ["Where is the train station? I need to be there by ten.",
           "Exactly, it used to work automatically before, but since the last update I have to press the button.",
           "One moment, brief pause. Yeah, you're right, it's turned off. I didn't know that existed."]


async def main(runs: int) -> None:
    import tempfile

    from PySide6.QtCore import QSettings, QTimer

    from app.core.secrets import SecretStore
    from app.core.settings import Settings
    from app.pipeline.services import Services
    from app.ui.main_window import MainWindow

    tmp = tempfile.mkdtemp()
    s = Settings(provider="local", voice="alloy", repair_policy="off")
    w = MainWindow(services=Services(s, SecretStore()), qsettings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat))
    w.settings = s
    w.show()
    gaps: list[float] = []
    last = [time.monotonic()]

    def tick():
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    first_to_device, verify_after_last, stalls = [], [], []
    for i in range(runs):
        text = PHRASES[i % len(PHRASES)]
        gaps.clear()
        last[0] = time.monotonic()
        u = await w.translate_now(text, "en", "en")
        t_end = time.monotonic()
        while u.report is None and time.monotonic() - t_end < 60:
            await asyncio.sleep(0.01)
        d = w.player.stats.first_delta_to_device_s
        if d is not None:
            first_to_device.append(d)
        if "verify_s" in u.timings:
            verify_after_last.append(u.timings["verify_s"])
        stalls.append(max(gaps) - 0.005 if gaps else 0.0)
        await asyncio.sleep(0.3)
    timer.stop()
    w.close()

    def p(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else None

    out = {
        "runs": runs,
        "first_delta_to_device_ms": {"median": round(1000 * statistics.median(first_to_device), 1),
                                     "max": round(1000 * max(first_to_device), 1)} if first_to_device else None,
        "verify_after_done_s": {"median": round(statistics.median(verify_after_last), 3),
                                "p95": round(p(verify_after_last, 0.95), 3)} if verify_after_last else None,
        "longest_loop_stall_ms": round(1000 * max(stalls), 1),
        "loop_stall_ms_per_run": [round(1000 * x, 1) for x in stalls],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    import qasync

    from app.ui.launch import make_app

    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(a.runs))
