"""Soak the real window: minutes' worth of its refresh ticks, in seconds.

Runs as its own process (a native abort such as none_dealloc must fail a test, not kill
pytest): the app is built as `run_gui` builds it (QApplication, qasync loop, MainWindow
with the silent clocked sink), a 4 s answer plays and replays in a loop so every tick has
something to move. Time is simulated: the player runs on a manual clock advanced by one
refresh period (30 ms) per tick, and the window's own refresh timer fires as fast as the
loop allows, so 2.7 minutes of ticks take seconds. The measurement starts once the
verifier model has loaded (as it does at every launch). Prints one JSON object.

    python tests/ui/soak_window.py --ticks 5400     # 5400 ticks = 2.7 min at the real 30 ms
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=5400)
    ap.add_argument("--interval-ms", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=300)
    args = ap.parse_args()

    import qasync

    from app.audio.player import ManualSink, Player
    from app.core.timing import estimate_word_times
    from app.ui.launch import make_app
    from app.ui.main_window import POLL_MS, MainWindow

    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    sink = ManualSink()
    w = MainWindow(player=Player(sink))
    w.show()

    rate = 24_000
    t = np.arange(4 * rate) / rate
    audio = (3000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    text = "The train to Munich leaves from platform four at half past nine every morning."
    w.transcript.set_text(text)
    w.transcript.set_word_times(estimate_word_times(text, len(audio) / rate))
    w.player.load(audio, rate)
    w.player_bar.set_enabled(True)
    w.player.play()

    state = {"ticks": 0, "replays": 0}
    start = {}

    def counted() -> None:
        if not start and (state["ticks"] < args.warmup or "loading" in w.verifier_label.text()):
            state["ticks"] += 1
            sink.advance(POLL_MS / 1000)
            return
        state["ticks"] += 1
        sink.advance(POLL_MS / 1000)
        if w.player.state == "ended":
            w.replay()
            state["replays"] += 1
        if not start:
            gc.collect()
            start.update(none=sys.getrefcount(None), rss=rss_mb(), time=time.monotonic(),
                         ticks=state["ticks"])
        if state["ticks"] - start["ticks"] >= args.ticks:
            w.refresh_timer.stop()
            app.quit()

    w.refresh_timer.setInterval(args.interval_ms)
    w.refresh_timer.timeout.connect(counted)
    closing = asyncio.Event()
    app.aboutToQuit.connect(closing.set)
    with loop:
        loop.run_until_complete(closing.wait())
    gc.collect()
    elapsed = time.monotonic() - start["time"]
    print(json.dumps({
        "ticks": state["ticks"] - start["ticks"],
        "simulated_s": round((state["ticks"] - start["ticks"]) * POLL_MS / 1000, 1),
        "wall_s": round(elapsed, 2),
        "replays": state["replays"],
        "none_refs_delta": sys.getrefcount(None) - start["none"],
        "rss_growth_mb": round(rss_mb() - start["rss"], 1),
        "highlight_index": w.transcript.highlight_index,
        "verifier": w.verifier_label.text(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
