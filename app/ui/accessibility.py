"""Accessible names, descriptions and tab order, in one table per view.

A screen reader announces a control by its accessible name; a combo box or a slider has no
text of its own to fall back on, and "⇄" or "▶" say nothing. Each row names a control by
its attribute path on the view ("player_bar.slider"); a row whose control does not exist
(a part not built, e.g. no history) is skipped. tests/ui/test_accessibility.py walks every
focusable widget and fails on one without a name, so a new control needs a row here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

# (attribute path, name, description)
MAIN_WINDOW = (
    ("phrase", "Phrase to translate", "Type here; Ctrl+Enter translates"),
    ("translate_button", "Translate", "Translate and speak the phrase; while busy, stops it (Esc)"),
    ("source", "Translate from", "The phrase's language, or Detect language"),
    ("swap", "Swap languages", "Swap the languages, and the phrase with the answer shown"),
    ("target", "Translate to", "The language of the translation"),
    ("settings_button", "Settings", "Provider, API key, voice, repair (Ctrl+,)"),
    ("notice_settings", "Open Settings to add an API key", ""),
    ("error_action", "What helps with this error", "Open Settings, or Retry the request"),
    ("transcript", "Translation transcript", "Each word is highlighted as it is heard; words the audio "
                                             "did not say are marked red"),
    ("flags", "Sentences the audio did not say, or may not have said",
     "Red: certainly different; amber: the recognizer is unsure. Activate one to hear where it should be"),
    ("player_bar.play_button", "Play or pause", "Space when not typing, or Ctrl+P"),
    ("player_bar.replay_button", "Replay from the start", "Ctrl+R"),
    ("player_bar.slider", "Playback position", "Drag to seek"),
    ("player_bar.compare_button", "Hear the original audio", "Switch between the repaired audio and the "
                                                             "audio first received"),
    ("result.copy_button", "Copy translation", "Ctrl+Shift+C"),
    ("result.repair_button", "Repair the audio", "Re-voice the red and amber sentences until the audio "
                                                 "says the transcript"),
    ("phrase_tools.listen_button", "Listen to the phrase", "Read the phrase aloud with an offline voice "
                                                           "(Ctrl+Shift+S)"),
    ("phrase_tools.clear_button", "Clear the phrase", "Clear the phrase and the answer shown "
                                                      "(Ctrl+Shift+Backspace)"),
    ("first_run_hint.settings_button", "Open Settings to add an API key", ""),
    ("first_run_hint.ok_button", "Dismiss the first-run hint", ""),
    ("first_run_hint.close_button", "Dismiss the first-run hint", ""),
)

HISTORY_PANEL = (
    ("search", "Search history", "Search what you typed or heard"),
    ("list", "History", "Return replays the selected entry, Del deletes it"),
    ("notice_button", "History notice action", ""),
    ("replay_button", "Replay the selected entry", ""),
    ("export_button", "Export the selected entry", "As WAV, SRT, VTT or JSON"),
    ("delete_button", "Delete the selected entry", "Ctrl+Z undoes it"),
)

GUARD_VIEW = (
    ("upstream", "Forward to", "Where Guard forwards your app's Realtime connection"),
    ("mode", "Guard mode", "Observe only, or repair the audio your app receives"),
    ("port", "Guard port", "0 picks a free port"),
    ("start_button", "Start Guard", ""),
    ("stop_button", "Stop Guard", ""),
    ("url", "Your app's base URL", "Point your app's Realtime endpoint here"),
    ("copy_button", "Copy the base URL", ""),
    ("copy_key_button", "Copy the engine key", "Your app sends it as its API key"),
    ("snippets", "Code snippets for your app", ""),
    ("list", "Guarded responses", "Select one to see it in the main window"),
)

# Tab order of the main window: typing first, then the answer, then the rest. It is a cycle,
# so Shift+Tab from the phrase reaches the language bar.
MAIN_TAB_ORDER = (
    "phrase", "translate_button", "phrase_tools.listen_button", "phrase_tools.clear_button",
    "error_action", "result.copy_button", "transcript", "flags", "player_bar.play_button", "player_bar.replay_button",
    "player_bar.slider", "player_bar.compare_button",
    "history_panel.search", "history_panel.list", "history_panel.notice_button",
    "history_panel.replay_button", "history_panel.export_button", "history_panel.delete_button",
    "first_run_hint.settings_button", "first_run_hint.ok_button", "first_run_hint.close_button",
    "notice_settings", "source", "swap", "target", "settings_button",
)


def find(view: object, path: str) -> QWidget | None:
    obj = view
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, QWidget) else None


def name_controls(view: object, table) -> None:
    for path, name, description in table:
        w = find(view, path)
        if w is None:
            continue
        w.setAccessibleName(name)
        if description:
            w.setAccessibleDescription(description)


def set_tab_order(view: object, order=MAIN_TAB_ORDER) -> list[QWidget]:
    chain = [w for w in (find(view, p) for p in order) if w is not None]
    for a, b in zip(chain, chain[1:], strict=False):
        QWidget.setTabOrder(a, b)
    return chain


def name_main_window(window) -> None:
    name_controls(window, MAIN_WINDOW)
    if getattr(window, "history_panel", None) is not None:
        name_controls(window.history_panel, HISTORY_PANEL)
    set_tab_order(window)


def name_guard_view(view) -> None:
    name_controls(view, GUARD_VIEW)


def unnamed_focusable(root: QWidget) -> list[QWidget]:
    """Widgets under `root` that take keyboard focus but have no accessible name."""
    out = []
    for w in root.findChildren(QWidget):
        if w.focusPolicy() & Qt.FocusPolicy.TabFocus and not w.accessibleName().strip() \
                and not _inner_part(w):
            out.append(w)
    return out


def _inner_part(w: QWidget) -> bool:
    """A piece another control owns (a scroll bar, the line edit inside an editable combo
    box or a spin box): the reader announces its owner."""
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QScrollBar

    if isinstance(w, QScrollBar):
        return True
    parent = w.parentWidget()
    while parent is not None:
        if isinstance(parent, (QComboBox, QAbstractSpinBox)):
            return True
        parent = parent.parentWidget()
    return False
