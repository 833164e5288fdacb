"""After the start-up warm-up, the first translation imports nothing on the Qt thread."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, importlib.abc, json, os, sys, tempfile, threading
import qasync
from PySide6.QtCore import QSettings
from app.ui.launch import make_app

app = make_app()
app.setQuitOnLastWindowClosed(False)
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)

async def main():
    from app.ui.main_window import MainWindow
    d = tempfile.mkdtemp()
    w = MainWindow(qsettings=QSettings(d + "/s.ini", QSettings.Format.IniFormat))
    w.settings.provider = "local"
    w.settings.voice = "alloy"
    w.settings.repair_policy = "off"
    w.services.settings = w.settings
    w.show()
    await asyncio.sleep(1.0)      # start-up work of the window itself (its verifier warm-up) is done
    if sys.argv[1] == "warm":
        from app.core.warmup import warm_in_background
        warm_in_background(delay_s=0).join(60)
    ui, seen = threading.get_ident(), []

    class Record(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if threading.get_ident() == ui and name not in sys.modules:
                seen.append(name)
            return None

    sys.meta_path.insert(0, Record())
    u = await w.translate_now("Where is the train station?", "en", "en")
    assert u is not None and len(u.audio) > 0
    print(json.dumps(seen))
    w.close()

with loop:
    loop.run_until_complete(main())
"""


def ui_thread_imports(mode: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", VERBATIM_AUDIO_OUTPUT="silent")
    r = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=env,
                       cwd=str(ROOT), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_first_request_imports_nothing_on_the_ui_thread_after_warm_up():
    cold = ui_thread_imports("cold")
    assert cold, "the first request no longer imports anything: the warm-up list may be obsolete"
    assert ui_thread_imports("warm") == []


def test_language_id_warm_up_leaves_a_working_detector():
    from app.core import langid
    from app.core.warmup import warm_language_id

    assert warm_language_id(pause_s=0)
    assert langid.detect_text_language("Où est la gare ? Je dois y être à dix heures.") == "fr"
    assert langid.detect_text_language("Wo ist der Bahnhof? Ich muss um zehn dort sein.") == "de"


def test_start_up_jobs_run_one_after_another_in_submission_order():
    import threading
    import time
    from concurrent.futures import Future

    from app.core.warmup import StartupSequence

    seq, log, running = StartupSequence(), [], []
    handed_on: Future = Future()

    def job(name, seconds):
        running.append(name)
        assert len(running) == 1, f"{running} at once"
        time.sleep(seconds)
        log.append(name)
        running.remove(name)

    def hands_on():   # like VerifierWorker.warm(): returns a future of work done elsewhere
        threading.Timer(0.2, lambda: (log.append("handed-on"), handed_on.set_result(None))).start()
        return handed_on

    def fails():
        raise RuntimeError("no model")

    futures = [seq.submit(job, "verifier", 0.05), seq.submit(hands_on), seq.submit(fails),
               seq.submit(job, "engine", 0.01), seq.submit(job, "warm-up", 0.01)]
    assert futures[-1].result(10) is None
    assert log == ["verifier", "handed-on", "engine", "warm-up"]
    assert isinstance(futures[2].exception(), RuntimeError)


def test_warm_in_background_waits_behind_earlier_start_up_jobs():
    import threading

    from app.core.warmup import startup_job, warm_in_background

    release, order = threading.Event(), []
    startup_job(lambda: (release.wait(10), order.append("verifier")))
    thread = warm_in_background(delay_s=0)
    thread.join(0.3)
    assert thread.is_alive(), "the warm-up ran beside the job queued before it"
    release.set()
    thread.join(60)
    assert not thread.is_alive() and order == ["verifier"]
