"""What a person expects of a desktop translator, through the real window: copy the
translation, listen to the phrase, clear, the character count and its limit, a transcript
zoom kept across restarts, and Esc that silences whatever speaks."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.pipeline.translate import MAX_INPUT_CHARS
from tests.helpers import run, until, utterance

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def show_saved_answer(w, text="Where is the station?", typed="¿Dónde está la estación?"):
    u = utterance(text, typed)
    w.services.store().save(u)
    w.history_panel.refresh()
    w.history_panel.select(u.id)
    assert w.transcript.text == text
    return u


def focus(w, qtbot, widget):
    with qtbot.waitActive(w):
        w.activateWindow()
    widget.setFocus()


def test_copy_translation_with_the_keys_and_the_button(make_window, qtbot):
    w = make_window()
    QApplication.clipboard().setText("before")
    focus(w, qtbot, w.phrase)
    qtbot.keyClick(w.phrase, Qt.Key.Key_C, CTRL_SHIFT)          # nothing shown yet: nothing copied
    assert QApplication.clipboard().text() == "before" and "Nothing to copy" in w.statusBar().currentMessage()
    show_saved_answer(w)
    focus(w, qtbot, w.phrase)
    qtbot.keyClick(w.phrase, Qt.Key.Key_C, CTRL_SHIFT)
    assert QApplication.clipboard().text() == "Where is the station?"
    assert w.phrase.toPlainText() == "¿Dónde está la estación?"   # the phrase box was not changed
    QApplication.clipboard().setText("")
    qtbot.mouseClick(w.result.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "Where is the station?"


def test_listen_to_the_phrase_then_escape_silences_it(make_window, qtbot, loop):
    w = make_window()
    w.source.set_code("en")
    focus(w, qtbot, w.phrase)
    qtbot.keyClicks(w.phrase, "Good morning, everyone.")

    async def listen():                 # on the running loop, as in the app
        qtbot.keyClick(w.phrase, Qt.Key.Key_S, CTRL_SHIFT)
        await until(lambda: w.phrase_player is not None and w.phrase_player.is_active, timeout=60)

    run(loop, listen())
    assert w.phrase_player.duration_s > 0.8                     # real speech, not a click
    assert not w.player.is_active and w.utterance is None       # the answer's player is not involved
    qtbot.keyClick(w.phrase, Qt.Key.Key_Escape)
    assert not w.phrase_player.is_active


def test_listen_button_with_an_empty_phrase_says_so(make_window, qtbot):
    w = make_window()
    w.listen_to_phrase()
    assert w.phrase_player is None and "Type a phrase" in w.statusBar().currentMessage()


def test_clear_empties_the_phrase_and_the_answer_but_not_history(make_window, qtbot):
    w = make_window()
    u = show_saved_answer(w)
    assert w.player_bar.play_button.isEnabled()
    focus(w, qtbot, w.phrase)
    qtbot.keyClick(w.phrase, Qt.Key.Key_Backspace, CTRL_SHIFT)
    assert w.phrase.toPlainText() == "" and w.transcript.text == "" and w.utterance is None
    assert not w.player_bar.play_button.isEnabled() and not w.badge.isVisible()
    assert w.char_count.text() == f"0 / {MAX_INPUT_CHARS:,}"
    assert u.id in w.history_panel.ids()                         # history keeps it


def test_character_count_shows_the_limit_and_turns_red_past_it(make_window, qtbot):
    w = make_window()
    assert w.char_count.text() == f"0 / {MAX_INPUT_CHARS:,}"
    qtbot.keyClicks(w.phrase, "Hello")
    assert w.char_count.text() == f"5 / {MAX_INPUT_CHARS:,}" and not w.char_count.property("over")
    w.phrase.setPlainText("x" * (MAX_INPUT_CHARS + 1))
    assert w.char_count.text() == f"{MAX_INPUT_CHARS + 1:,} / {MAX_INPUT_CHARS:,}"
    assert w.char_count.property("over") and "up to" in w.char_count.toolTip()


def test_transcript_zoom_with_keys_is_kept_across_restarts(make_window, qtbot, tmp_path):
    path = tmp_path / "zoom.ini"
    w = make_window(settings_file=path)
    usual = w.transcript.font().pointSizeF()
    focus(w, qtbot, w.phrase)
    qtbot.keyClick(w.phrase, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(w.phrase, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    bigger = w.transcript.font().pointSizeF()
    assert bigger > usual and w.phrase.toPlainText() == ""
    w.close()
    again = make_window(settings_file=path)
    assert again.transcript.font().pointSizeF() == bigger
    focus(again, qtbot, again.phrase)
    qtbot.keyClick(again.phrase, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert usual < again.transcript.font().pointSizeF() < bigger
    qtbot.keyClick(again.phrase, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert again.transcript.font().pointSizeF() == usual
