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
    job = s.start_engine_in_background()
    assert job is not None
    s.close()                 # waits for a start under way, then stops what it started
    job.result(60)            # a start not begun yet finds the services closed and does nothing
    assert s.engine is None


def test_start_up_runs_the_engine_then_the_verifier_one_at_a_time(make_window, qtbot, monkeypatch):
    """Engine first (the first request needs it), then the verifier's model, on the start-up
    queue's thread: never side by side (issue 16)."""
    order, running, overlap = [], [], []
    real_engine, real_verifier = Services.ensure_engine, Services.verifier

    def timed(name, real):
        def call(self):
            if running:
                overlap.append((name, list(running)))
            running.append(name)
            order.append((name, threading.current_thread().name))
            try:
                return real(self)
            finally:
                running.remove(name)
        return call

    monkeypatch.setattr(Services, "ensure_engine", timed("engine", real_engine))
    monkeypatch.setattr(Services, "verifier", timed("verifier", real_verifier))
    w = make_window()
    qtbot.waitUntil(lambda: w.verifier_label.text() == "Verifier: ready" and w.services.engine is not None,
                    timeout=90000)
    assert [name for name, _ in order[:2]] == ["engine", "verifier"]
    assert {thread for _, thread in order[:2]} == {"verbatim-startup"} and not overlap
