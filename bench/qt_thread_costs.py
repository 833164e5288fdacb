"""What the start-up and per-answer steps moved off the Qt thread (issue 16) still cost it:

    QT_QPA_PLATFORM=offscreen PYTHONPATH=$PWD .venv/bin/python bench/qt_thread_costs.py

Times, on the calling (Qt / event-loop) thread, in a fresh process with cold imports:
- `MainWindow.warm_verifier()` (was: import app.verify + build the worker there);
- `VerifierWorker.submit()` of a 60 s answer (was: a copy of the whole audio);
- one history save of a 10 s answer from inside the loop (was: FLAC encode + fsync there);
- `Services.make_client()` for the first request with the local engine, when the window
  started the engine in the background at start (was: engine start inside the request;
  it runs on a worker thread, so this is the wait the first request sees, not a stall).
Figures are wall time of the call on that thread; machine load adds noise, not bias."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VERBATIM_AUDIO_OUTPUT", "silent")
os.environ.setdefault("VERBATIM_DATA_DIR", tempfile.mkdtemp())


def ms(t0: float) -> str:
    return f"{1000 * (time.perf_counter() - t0):7.1f} ms"


def main() -> None:
    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.core.secrets import SecretStore
    from app.core.settings import Settings
    from app.core.utterance import Utterance
    from app.pipeline.services import Services
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = tempfile.mkdtemp()
    s = Settings(provider="local", voice="alloy", repair_policy="off")
    services = Services(s, SecretStore())
    w = MainWindow(services=services, qsettings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat))
    t0 = time.perf_counter()
    w.warm_verifier()
    print(f"warm_verifier on the Qt thread        {ms(t0)}")

    start = getattr(services, "start_engine_in_background", None)
    if start is not None:
        start()
    time.sleep(6.0)               # the window idles after start; loaders finish meanwhile
    app.processEvents()
    t0 = time.perf_counter()
    client = services.make_client()
    print(f"make_client at the first request      {ms(t0)}   (engine started {'at start' if start else 'here'})")
    del client

    worker = services.verifier()
    u = Utterance("x", "en", "en", transcript="Hello.")
    u.append_audio(np.zeros(60 * u.sample_rate, np.int16))
    t0 = time.perf_counter()
    fut = worker.submit(u.transcript, u.audio, u.sample_rate, "en")
    print(f"VerifierWorker.submit, 60 s of audio   {ms(t0)}")
    fut.cancel()

    from app.pipeline.translate import Pipeline

    store = services.store()
    p = Pipeline(None, store=store)
    v = Utterance("x", "en", "en", transcript="Hello.")
    v.append_audio((np.sin(np.arange(10 * v.sample_rate) / 9) * 8000).astype(np.int16))
    v.state = "complete"
    store.save(v)               # first save imports soundfile: not what is measured

    async def saves(n: int = 5) -> list[float]:
        took = []
        for _ in range(n):
            t = time.perf_counter()
            p.save(v)
            took.append(time.perf_counter() - t)
            waiter = getattr(p, "saved", None)
            if waiter is not None:
                await waiter()
        return sorted(took)

    took = asyncio.run(saves())
    print(f"history save (10 s) on the loop thread {1000 * took[len(took) // 2]:7.1f} ms (median of 5)")
    w.close()
    services.close()


if __name__ == "__main__":
    main()
