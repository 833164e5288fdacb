"""Stop (button or Esc) in every phase of a request, through the real window and local engine:
whatever runs is cancelled, the audio stops, and the badge, button and history row agree on
one final state (never "Verifying…" or "not checked" for good)."""

import asyncio
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.engine import seed_cases
from app.pipeline.state import RequestState
from tests.helpers import run, until

LONG = ("The train to the airport leaves from platform four at half past nine. "
        "Please keep your ticket until you reach the exit, because the gates check it again. ") * 2


def start(w, text, source="en", target="en", metadata=None):
    """What translate_clicked does, with engine metadata (pacing, faults) for the test."""
    w.phrase.setPlainText(text)
    w.task = asyncio.ensure_future(w.translate_now(text, source, target, metadata=metadata))
    return w.task


def press_escape(w, qtbot):
    w.activateWindow()
    qtbot.keyClick(w.phrase, Qt.Key.Key_Escape)


def history_status(w, uid):
    from app.pipeline.translate import wait_for_saves

    wait_for_saves(10)      # a stopped request's last save runs on the disk thread
    return {r.id: r.status for r in w.services.store().list()}[uid]


def assert_stopped(w, badge_text):
    assert w.request.phase == "stopped"
    assert w.badge.property("status") == "stopped" and badge_text in w.badge.text()
    assert w.translate_button.text() == "Translate"
    assert not w.player.is_active


def test_request_state_machine_allows_only_forward_steps():
    seen = []
    s = RequestState(on_change=lambda old, new: seen.append((old, new)))
    assert s.advance("connecting") and s.active
    assert not s.advance("repairing")            # cannot skip the answer
    for phase in ("streaming", "verifying", "repairing", "done"):
        assert s.advance(phase)
    assert not s.active and not s.advance("verifying")
    assert s.advance("connecting") and s.advance("stopped") and s.trail[-2:] == ["connecting", "stopped"]
    assert seen[0] == ("idle", "connecting")
    with pytest.raises(ValueError):
        s.advance("bogus")


def test_stop_while_connecting(make_window, qtbot, loop):
    w = make_window()
    task = start(w, "Hello there.")

    async def flow():
        await until(lambda: w.request.phase == "connecting", timeout=5)
        assert w.translate_button.text() == "Stop" and "Connecting" in w.badge.text()
        w.translate_clicked()                      # the button reads Stop: it stops
        await until(task.done, timeout=10)

    run(loop, flow())
    assert_stopped(w, "before connecting")
    assert w.pipeline is None and w.utterance is None

    async def again():                             # and the window is usable afterwards
        return await w.translate_now("Hello again.", "en", "en")

    assert run(loop, again()).transcript == "Hello again."
    assert w.request.phase == "done"


def test_stop_while_streaming_with_escape(make_window, qtbot, loop):
    w = make_window()
    task = start(w, LONG, metadata={"verbatim_fault": json.dumps({"delay_ms": 120})})

    async def flow():
        await until(lambda: w.utterance is not None and len(w.utterance.audio) > 0, timeout=60)
        assert w.request.phase == "streaming" and w.translate_button.text() == "Stop"
        assert w.player.is_active
        press_escape(w, qtbot)
        await until(task.done, timeout=10)

    run(loop, flow())
    u = w.utterance
    assert_stopped(w, "answer incomplete")
    assert u.state == "incomplete" and history_status(w, u.id) == "incomplete"


def test_stop_while_verifying_saves_not_verified(make_window, qtbot, loop):
    w = make_window()
    task = start(w, LONG)

    async def flow():
        await until(lambda: w.request.phase == "verifying", timeout=90)
        # one state: the button and the badge both say the check is still running
        assert w.translate_button.text() == "Stop" and "Verifying" in w.badge.text()
        assert w.player.is_active
        press_escape(w, qtbot)
        await until(task.done, timeout=10)
        await asyncio.sleep(0.3)

    run(loop, flow())
    u = w.utterance
    assert_stopped(w, "not checked")
    assert u.report is None and u.status == "unverified" and u.meta["stopped"] == "verifying"
    assert history_status(w, u.id) == "unverified"
    # the row is refreshed once the save lands on the disk thread: wait for it, not 0.3 s
    run(loop, until(lambda: "not verified" in w.history_panel.list.item(0).text(), timeout=10))
    assert "not checked" not in w.history_panel.list.item(0).text()


def test_stop_while_asked_about_repair(make_window, qtbot, loop):
    case = seed_cases()["truncated-2"]
    w = make_window(repair_policy="ask")
    task = start(w, case["transcript"], "es", "en",
                 metadata={"verbatim_fault": json.dumps({"case": "truncated-2"})})

    def question():
        return next((b for b in w.findChildren(QMessageBox) if b.isVisible()), None)

    async def flow():
        await until(lambda: w.request.phase == "repairing" and question() is not None, timeout=120)
        assert w.translate_button.text() == "Stop"
        w.translate_clicked()
        await until(task.done, timeout=10)

    run(loop, flow())
    u = w.utterance
    assert_stopped(w, "not repaired")
    assert question() is None                                # the question went with it
    assert u.status == "mismatch" and history_status(w, u.id) == "mismatch"
    assert w.flags.count() >= 1                              # the verdict and its flags stay


@pytest.mark.slow
def test_stop_while_repairing_automatically(make_window, qtbot, loop):
    case = seed_cases()["truncated-2"]
    w = make_window(repair_policy="automatic")
    task = start(w, case["transcript"], "es", "en",
                 metadata={"verbatim_fault": json.dumps({"case": "truncated-2"})})

    # press Esc the moment the repair starts: polling for the phase could miss a repair that
    # the local engine finishes within one poll
    pressed = []
    real = w.set_badge

    def badge(status, text=None):
        real(status, text)
        if status == "repairing" and not pressed:
            pressed.append(True)
            asyncio.get_running_loop().call_soon(press_escape, w, qtbot)

    w.set_badge = badge

    async def flow():
        await until(lambda: bool(pressed), timeout=120)
        await until(task.done, timeout=10)

    run(loop, flow())
    assert_stopped(w, "not repaired")
    assert history_status(w, w.utterance.id) == "mismatch"


def test_escape_after_done_stops_the_audio_only(make_window, qtbot, loop):
    w = make_window()

    async def flow():
        u = await w.translate_now("One two three four five six seven eight.", "en", "en")
        w.replay()
        await until(lambda: w.player.position_s > 0.2, timeout=10)
        return u

    u = run(loop, flow())
    assert w.request.phase == "done" and w.translate_button.text() == "Translate"
    verdict = w.badge.property("status")
    assert w.player.state == "playing"
    press_escape(w, qtbot)
    assert not w.player.is_active
    assert w.request.phase == "done" and w.badge.property("status") == verdict == u.status
