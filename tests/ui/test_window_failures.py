"""Every failure lands in a settled state with a human message and the action that helps,
and leaves nothing stale behind (issue 24): through the real window, on 127.0.0.1 only."""

import socket

from tests.helpers import SessionSecrets, run, until
from tests.ui.test_window_first_use import settings_like


def refused_endpoint() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()                                   # nothing listens there: refused at once
    return f"https://127.0.0.1:{port}"


def azure_window(make_window, endpoint):
    secrets = SessionSecrets()
    secrets.set("azure", "test-key")
    return make_window(secrets=secrets, provider="azure", endpoint=endpoint, model="dep")


def test_a_failed_connection_settles_with_a_human_message_and_a_way_to_settings(make_window, qtbot, loop):
    endpoint = refused_endpoint()
    w = azure_window(make_window, endpoint)
    w.phrase.setPlainText("Hello.")
    w.translate_clicked()
    run(loop, until(lambda: w.task.done(), timeout=60))
    assert w.request.phase == "failed"
    assert w.badge.property("status") == "failed" and "Connecting" not in w.badge.text()
    assert "Not connected" in w.badge.text()
    text = w.error.text()
    assert endpoint.removeprefix("https://") in text and "connection refused" in text
    assert "Errno" not in text and "Connect call failed" not in text
    assert w.error_action.isVisible() and w.error_action.text() == "Open Settings…"
    assert w.connection_label.text() == "not connected"
    w.apply_settings(settings_like(w, provider="local"))      # back to the engine: nothing stale
    assert not w.error.isVisible() and not w.error_action.isVisible()
    assert w.badge.property("status") == "idle" and "Connecting" not in w.badge.text()


def test_a_failed_request_leaves_the_previous_answer_playable_with_its_own_badge(make_window, qtbot, loop):
    w = make_window()
    u = run(loop, w.translate_now("Good morning.", "en", "en"))
    assert u is not None and w.player_bar.play_button.isEnabled()
    before = w.badge.text()
    secrets = w.services.secrets
    secrets.set("azure", "test-key")
    w.apply_settings(settings_like(w, provider="azure", endpoint=refused_endpoint(), model="dep"))
    w.phrase.setPlainText("Good evening.")
    w.translate_clicked()
    run(loop, until(lambda: w.task.done(), timeout=60))
    assert w.request.phase == "failed" and w.error.isVisible()
    assert w.utterance is u and w.badge.text() == before         # the answer shown keeps its own state
    assert w.player_bar.play_button.isEnabled()


def test_retry_is_offered_when_the_engine_could_not_start_and_it_retries(make_window, qtbot, loop, monkeypatch):
    w = make_window()
    calls = []
    real = w.services.make_client

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("voices still loading")
        return real()

    monkeypatch.setattr(w.services, "make_client", flaky)
    w.phrase.setPlainText("Hello there.")
    w.translate_clicked()
    run(loop, until(lambda: w.task.done(), timeout=60))
    assert w.request.phase == "failed" and w.error_action.text() == "Retry"
    w.error_action.click()
    run(loop, until(lambda: w.task.done() and w.request.phase == "done", timeout=60))
    assert w.utterance is not None and w.utterance.transcript == "Hello there."
    assert not w.error.isVisible() and not w.error_action.isVisible()


# --- Compare and the repaired badge tell the truth ---------------------------------------------

def repaired_answer():
    from app.core.report import Report, SegmentResult
    from app.core.utterance import RepairAttempt
    from tests.helpers import utterance

    u = utterance("Please send it to support. That's the best one.", "Envíalo a soporte. Es la mejor.", 2.0)
    first, second = "Please send it to support.", "That's the best one."
    before = Report("mismatch", "en", 1.0, [
        SegmentResult(0, first, 0, len(first), "ok", 0.0, 1.0),
        SegmentResult(1, second, len(first) + 1, len(u.transcript), "truncated")])
    after = Report("match", "en", 2.0, [
        SegmentResult(0, first, 0, len(first), "ok", 0.0, 1.0),
        SegmentResult(1, second, len(first) + 1, len(u.transcript), "ok", 1.0, 2.0)])
    u.original_audio = u.audio[:24000].copy()
    u.original_report, u.report = before, after
    u.repairs.append(RepairAttempt(number=1, strategy="revoice", verdict="match"))
    assert u.status == "repaired"
    return u


def flag_rows(w):
    return [w.flags.item(i).text() for i in range(w.flags.count())]


def test_a_repaired_answer_says_what_was_wrong_and_compare_says_what_plays(make_window, qtbot):
    w = make_window()
    u = repaired_answer()
    w.show_utterance(u)
    assert w.badge.text().endswith("Repaired — audio matches")
    rows = flag_rows(w)
    assert len(rows) == 1 and "Sentence 2" in rows[0] and "re-voiced" in rows[0] and "not spoken" in rows[0]
    assert w.flags.isVisible() and not w.legend.isVisible()      # nothing is red now

    w.player_bar.compare_button.click()                            # hear the original
    assert w.player.duration_s == 1.0
    assert w.badge.property("status") == "mismatch"
    assert "Original — audio differs: 1 of 2 sentences" in w.badge.text()
    rows = flag_rows(w)
    assert len(rows) == 1 and "not spoken" in rows[0] and "re-voiced" not in rows[0] and w.legend.isVisible()

    w.player_bar.compare_button.click()                            # back to the repaired audio
    assert w.player.duration_s == 2.0
    assert w.badge.text().endswith("Repaired — audio matches") and "re-voiced" in flag_rows(w)[0]


# --- an answer cut off mid-stream ---------------------------------------------------------------

def test_a_dropped_answer_says_what_is_missing_offers_retry_and_is_not_connected(make_window, qtbot, loop):
    import json

    w = make_window()
    fault = {"verbatim_fault": json.dumps({"drop_after_deltas": 3})}
    long = "The train to the airport leaves from platform four at half past nine in the morning."
    u = run(loop, w.translate_now(long, "en", "en", metadata=fault))
    assert u is not None and u.state == "incomplete" and len(u.audio) > 0
    assert "Incomplete answer — audio stopped at" in w.badge.text()
    assert "s of audio arrived" in w.error.text() and w.error_action.text() == "Retry"
    assert w.connection_label.text() == "not connected"
    w._last_request = (long, "en", "en", None)       # Retry asks again (here without the fault)
    w.error_action.click()
    run(loop, until(lambda: w.task.done() and not w.request.active, timeout=60))
    assert w.utterance is not u and w.utterance.state == "complete" and w.utterance.transcript == long
    assert not w.error.isVisible() and w.connection_label.text() == "connected"


# --- nothing stale, and words that say what happened -------------------------------------------

def test_an_error_about_a_request_goes_when_a_history_entry_is_opened(make_window, qtbot):
    from tests.helpers import utterance

    w = make_window()
    a = utterance("Thanks.", "Gracias.")
    w.services.store().save(a)
    w.history_panel.refresh()
    w.show_error("Translation failed: the server closed the connection", cause="request", action="retry")
    w.history_panel.select(a.id)
    assert w.utterance.id == a.id and not w.error.isVisible() and not w.error_action.isVisible()
    w.show_error("History is unavailable, this answer will not be saved: disk full", cause="history")
    w.history_panel.select(a.id)
    assert w.error.isVisible()          # still true whatever entry is shown


def test_a_read_back_answer_says_it_was_read_back_beside_the_tick(make_window, qtbot):
    from app.core.report import Report, SegmentResult
    from tests.helpers import utterance

    w = make_window()
    u = utterance("Where is the station?", "Where is the station?")
    u.report = Report("match", "en", 1.0, [SegmentResult(0, u.transcript, 0, len(u.transcript), "ok", 0.0, 1.0)])
    u.meta["read_back"] = True
    w.show_utterance(u)
    assert w.badge.text() == "✓ Read back, audio matches the transcript"
    del u.meta["read_back"]
    w.show_utterance(u)
    assert w.badge.text() == "✓ Audio matches the transcript"


def test_a_drift_reason_quotes_the_transcript_and_names_the_languages():
    from app.core.report import Report, SegmentResult, describe_segment

    seg = SegmentResult(0, "Please send it to soporte@miempresa.com.", 0, 40, "drifted", 0.0, 2.0,
                        heard="a robaamiempreza.com", heard_language="es")
    text = describe_segment(seg, Report("mismatch", "en", 2.0, [seg]))
    assert text == "spoken in Spanish instead of English: ‘Please send it to soporte@miempresa.com.’"
    assert "robaamiempreza" not in text


def test_a_request_right_after_new_settings_goes_to_the_new_service(make_window, qtbot, loop):
    w = make_window()
    assert run(loop, w.translate_now("Good morning.", "en", "en")) is not None     # connected locally
    w.services.secrets.set("azure", "test-key")
    w.apply_settings(settings_like(w, provider="azure", endpoint=refused_endpoint(), model="dep"))
    assert w.pipeline is None and w.client is None                 # detached at once, not on the next tick
    assert run(loop, w.translate_now("Good evening.", "en", "es")) is None
    assert w.request.phase == "failed" and "connection refused" in w.error.text()


# --- one table: what the window offers in each settled state ------------------------------------

def offered(w) -> tuple:
    return (w.badge.property("status") or "idle", w.translate_button.text(),
            w.result.repair_button.isVisible(), w.player_bar.play_button.isEnabled(),
            w.error.isVisible(), w.error_action.text() if w.error_action.isVisible() else "")


def test_each_settled_state_offers_the_actions_that_apply(make_window, qtbot, loop):
    import json

    from app.engine import seed_cases

    w = make_window(repair_policy="off")
    w.first_run_hint.dismiss()
    assert offered(w) == ("idle", "Translate", False, False, False, "")

    assert run(loop, w.translate_now("Good morning.", "en", "en")).status == "match"
    assert offered(w) == ("match", "Translate", False, True, False, "")

    case = seed_cases()["truncated-2"]
    u = run(loop, w.translate_now(case["transcript"], "es", "en",
                                  metadata={"verbatim_fault": json.dumps({"case": "truncated-2"})}))
    assert u.status == "mismatch"
    assert offered(w) == ("mismatch", "Translate", True, True, False, "")        # Repair audio offered

    dropped = {"verbatim_fault": json.dumps({"drop_after_deltas": 3})}
    u = run(loop, w.translate_now("The train to the airport leaves from platform four at half past nine.",
                                  "en", "en", metadata=dropped))
    assert u.status == "incomplete"
    assert offered(w) == ("incomplete", "Translate", False, True, True, "Retry")

    w.clear()
    w.services.secrets.set("azure", "test-key")
    w.apply_settings(settings_like(w, provider="azure", endpoint=refused_endpoint(), model="dep"))
    assert run(loop, w.translate_now("Good evening.", "en", "es")) is None
    assert offered(w) == ("failed", "Translate", False, False, True, "Open Settings…")
