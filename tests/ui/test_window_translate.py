"""The real window against the local engine: type, Ctrl+Enter, hear (silent sink), see flags."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from app.audio.player import ManualSink, Player
from app.engine import seed_cases
from app.ui import theme
from tests.helpers import run, until


def test_typing_and_ctrl_enter_translate_and_play(make_window, qtbot, loop):
    w = make_window()
    qtbot.keyClicks(w.phrase, "Where is the train station?")
    qtbot.keyClick(w.phrase, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert w.task is not None

    async def flow():
        await until(lambda: w.translate_button.text() == "Stop" or w.task.done())
        stop_shown = w.translate_button.text() == "Stop"
        await until(lambda: w.task.done())
        return stop_shown, w.task.result()

    stop_shown, u = run(loop, flow())
    assert stop_shown                                # while answering, the button stops it
    assert w.translate_button.text() == "Translate"
    assert u is not None
    assert u.transcript == "Where is the train station?"
    assert w.transcript.text == u.transcript
    assert len(u.audio) / u.sample_rate > 1.0
    assert np.abs(u.audio.astype(np.int32)).mean() > 200
    assert w.engine_label.text() == "Engine: local engine"
    assert "silent" in w.audio_label.text().lower()
    assert not w.error.isVisible()
    # the silent sink really plays: the clock moves and the highlight follows it
    w.replay()

    async def listen():
        await until(lambda: w.player.position_s > 0.6, timeout=10)
        await until(lambda: w.transcript.highlight_index >= 1, timeout=5)

    run(loop, listen())


def test_empty_input_says_so_and_sends_nothing(make_window, qtbot, loop):
    w = make_window()
    qtbot.keyClick(w.phrase, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert w.error.isVisible()
    assert "empty" in w.error.text().lower() or "type" in w.error.text().lower()
    assert w.task is None


def test_highlight_follows_a_stepped_clock(make_window, qtbot, loop):
    sink = ManualSink()
    w = make_window(player=Player(sink))

    async def flow():
        return await w.translate_now("One two three four five six.", "en", "en")

    u = run(loop, flow())
    w.replay()
    seen = []
    total = u.duration_s
    for _k in range(1, 12):
        sink.advance(total / 12)
        w.tick()
        seen.append(w.transcript.highlight_index)
    assert seen == sorted(seen)              # never jumps back
    assert seen[0] <= 1 and seen[-1] >= 4    # walks through the sentence


def test_engine_stopped_shows_an_error_and_the_app_stays_usable(make_window, qtbot, loop):
    w = make_window()

    async def first():
        return await w.translate_now("Hello.", "en", "en")

    assert run(loop, first()) is not None
    w.services.engine.stop_thread()          # the engine dies under the window

    async def second():
        return await w.translate_now("Hello again.", "en", "en")

    run(loop, second())
    assert w.error.isVisible()
    assert "local engine" in w.error.text()
    # not stuck on "Stop": the next click starts a new request (which fails clearly again)
    assert w.translate_button.text() == "Translate"
    w.error.hide()
    w.phrase.setPlainText("Third try.")
    before = w.task
    w.translate_button.click()
    assert w.task is not None and w.task is not before

    async def third():
        await until(lambda: w.task.done())

    run(loop, third())
    third_try = w.task.result()
    assert third_try is None or third_try.state in ("failed", "incomplete")
    assert w.error.isVisible() and "local engine" in w.error.text()
    assert w.translate_button.text() == "Translate"


@pytest.mark.parametrize("provider,label", [("openai", "Engine: OpenAI · gpt-realtime"),
                                            ("azure", "Engine: Azure OpenAI · my-realtime")])
def test_the_engine_label_names_the_configured_provider(make_window, provider, label):
    w = make_window()
    assert w.engine_label.text() == "Engine: local engine"
    w.settings.provider = provider
    w.settings.model = "my-realtime" if provider == "azure" else "gpt-realtime"
    w.settings.endpoint = "https://myres.openai.azure.com" if provider == "azure" else ""
    w.services.settings = w.settings
    w.refresh_status()
    assert w.engine_label.text() == label
    assert "local" not in w.engine_label.text()


def segment_background(view, seg):
    cursor = QTextCursor(view.document())
    cursor.setPosition((seg.char_start + seg.char_end) // 2)
    return cursor.charFormat().background().color().name()


@pytest.mark.slow
@pytest.mark.parametrize("case_id", sorted(seed_cases()))
def test_seed_case_ends_with_exactly_the_expected_red_segments(make_window, loop, case_id):
    case = seed_cases()[case_id]
    w = make_window(repair_policy="off")

    async def flow():
        u = await w.translate_now(case["transcript"], "es", "en",
                               metadata={"verbatim_fault": json.dumps({"case": case_id})})
        await until(lambda: u.report is not None, timeout=90)
        return u

    u = run(loop, flow())
    assert [s.status for s in u.report.segments] == case["expected"]
    assert w.badge.property("status") == "mismatch"
    for seg in u.report.segments:
        bg = segment_background(w.transcript, seg)
        if seg.status == "ok":
            assert bg != theme.FLAG_BACKGROUND.lower()
        else:
            assert bg == theme.FLAG_BACKGROUND.lower()
    assert w.flags.count() == sum(1 for s in case["expected"] if s != "ok")


def test_a_user_chosen_model_downloads_with_progress_then_fails_clearly(make_window, qtbot, loop, tmp_path,
                                                                       monkeypatch):
    """A model served on 127.0.0.1 (checksummed, but not a real model): the progress bar
    moves through the download, then the window says why the verifier is unavailable."""
    import hashlib
    import http.server
    import threading
    from functools import partial

    served = tmp_path / "served"
    served.mkdir()
    blob = np.random.default_rng(0).integers(0, 255, 3_000_000, dtype=np.uint8).tobytes()
    (served / "model.bin").write_bytes(blob)
    (served / "SHA256SUMS").write_text(f"{hashlib.sha256(blob).hexdigest()}  model.bin\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(http.server.SimpleHTTPRequestHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from app.ui.model_loading import ModelLoading

    seen, texts = [], []
    shown = ModelLoading._show_model_progress

    def recorded(window, done_kb, total_kb):
        # recorded from the window's first progress on: a fast download may end before a
        # signal connected after the window is built would see anything
        before = window.model_bar.value()
        shown(window, done_kb, total_kb)
        if window.model_bar.value() != before:
            seen.append((window.model_bar.value(), window.model_bar.maximum()))
            texts.append(window.model_bar.text())

    monkeypatch.setattr(ModelLoading, "_show_model_progress", recorded)
    try:
        w = make_window(verifier_model=f"http://127.0.0.1:{server.server_port}/")
        bar = w.model_bar
        qtbot.waitUntil(lambda: w.verifier_label.text() == "Verifier: unavailable", timeout=30000)
    finally:
        server.shutdown()
    assert seen and seen[-1][0] == seen[-1][1] > 2000          # KB: the whole file, reported as it came
    # while it comes: a percentage; once it is all there the bar says it is loading, not "100%"
    assert all(t.endswith("%") for t in texts[:-1]) and texts[-1] == "loading model…"
    assert not bar.isVisible()                                  # gone once the load ended
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert w.error.isVisible() and "speech model" in w.error.text()
