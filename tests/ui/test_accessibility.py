"""Every control a keyboard can reach has a name a screen reader can say, and Tab from the
phrase goes to Translate."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core.settings import Settings
from app.ui.accessibility import unnamed_focusable
from app.ui.settings_dialog import SettingsDialog
from tests.helpers import SessionSecrets


def describe(widgets):
    return [f"{type(w).__name__}({w.objectName() or getattr(w, 'text', lambda: '')()})" for w in widgets]


def test_every_focusable_control_of_the_window_has_a_name(make_window):
    w = make_window()
    assert w.history_panel is not None           # its controls are walked too
    assert w.first_run_hint.isVisible()          # and the hint's buttons
    missing = unnamed_focusable(w)
    assert not missing, describe(missing)
    assert w.phrase.accessibleName() == "Phrase to translate"
    assert w.player_bar.slider.accessibleName() == "Playback position"


def test_every_control_of_settings_and_guard_has_a_name(make_window, qtbot):
    dlg = SettingsDialog(Settings(), SessionSecrets())
    qtbot.addWidget(dlg)
    dlg.advanced_toggle.setChecked(True)
    assert not unnamed_focusable(dlg), describe(unnamed_focusable(dlg))
    guard = make_window().open_guard()
    assert not unnamed_focusable(guard), describe(unnamed_focusable(guard))


def test_tab_from_the_phrase_reaches_translate(make_window, qtbot):
    w = make_window()
    w.activateWindow()
    w.phrase.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.phrase, timeout=3000)
    qtbot.keyClick(w.phrase, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is w.translate_button
    # and on into the answer, not back to the language bar
    qtbot.keyClick(w.translate_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() not in (w.source, w.target, w.swap, w.settings_button)
