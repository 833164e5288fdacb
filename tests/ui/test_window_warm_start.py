"""What the first request needs is prepared at start, off the Qt thread (issue 16): the
verifier is built and loaded on a thread, and the local engine is running before any request."""

import threading

from app.pipeline.services import Services
from tests.helpers import run


def test_the_verifier_is_built_off_the_qt_thread_and_reports_ready(make_window, qtbot, monkeypatch):
    built_on = []
    real = Services.verifier

    def verifier(self):
        built_on.append(threading.get_ident())
        return real(self)

    monkeypatch.setattr(Services, "verifier", verifier)
    w = make_window()
    qtbot.waitUntil(lambda: w.verifier_label.text() == "Verifier: ready", timeout=60000)
    assert built_on and threading.get_ident() not in built_on


def test_a_verifier_that_cannot_start_is_reported_from_the_loading_thread(make_window, qtbot, monkeypatch):
    def broken(self):
        raise RuntimeError("no model here")

    monkeypatch.setattr(Services, "verifier", broken)
    w = make_window()
    qtbot.waitUntil(lambda: w.verifier_label.text() == "Verifier: unavailable", timeout=10000)
    assert w.error_cause == "verifier"


def test_the_local_engine_is_running_before_the_first_request(make_window, qtbot, loop):
    w = make_window()
    qtbot.waitUntil(lambda: w.services.engine is not None, timeout=30000)
    engine = w.services.engine

    async def flow():
        return await w.translate_now("Good morning.", "en", "en")

    u = run(loop, flow())
    assert u.state == "complete" and w.services.engine is engine    # the request used that one


def test_no_engine_is_started_for_a_cloud_provider(make_window, qtbot):
    from tests.helpers import SessionSecrets

    secrets = SessionSecrets()
    secrets.set("openai", "sk-test-not-used")
    w = make_window(secrets=secrets, provider="openai")
    qtbot.wait(800)
    assert w.services.engine is None


def test_closing_while_the_engine_starts_stops_it(qtbot):
    from app.core.settings import Settings
    from tests.helpers import SessionSecrets

    s = Services(Settings(provider="local"), SessionSecrets())
    thread = s.start_engine_in_background()
    assert thread is not None
    s.close()                 # waits for the start, then stops what it started
    thread.join(30)
    assert s.engine is None and not thread.is_alive()
