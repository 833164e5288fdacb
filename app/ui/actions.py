"""The window's action table: one row per command, read three ways — the QActions (and
their shortcuts), the menus, and Help ▸ Keyboard shortcuts. A key handled by a widget
itself (Ctrl+Enter in the phrase box, Del in the history list) has a row with no slot:
it is listed for the user, and nothing is registered twice."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


@dataclass(frozen=True)
class ActionSpec:
    name: str                 # the window gets it as `<name>_action`
    keys: str                 # "" for a command with no shortcut
    help: str                 # what Help ▸ Keyboard shortcuts says it does
    slot: str | None = None   # window method it runs; None: a widget handles the key itself
    text: str = ""            # menu text (defaults to `help`)
    menu: str | None = None   # menu title; None: a window-wide shortcut only
    separator_before: bool = False
    preferences: bool = False  # macOS puts it in the application menu


# In the order Help ▸ Keyboard shortcuts lists them.
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("translate", "Ctrl+Return", "Translate the phrase (in the phrase box)"),
    ActionSpec("stop", "Esc", "Stop: the answer, its check or repair, and the audio", "stop"),
    ActionSpec("space", "Space", "Play / pause (when the cursor is not in a text box)"),
    ActionSpec("play", "Ctrl+P", "Play / pause", "toggle_play"),
    ActionSpec("replay", "Ctrl+R", "Replay from the start", "replay"),
    ActionSpec("focus_phrase", "Ctrl+L", "Go to the phrase box", "focus_phrase"),
    ActionSpec("listen_phrase", "Ctrl+Shift+S", "Listen to the phrase (offline voice)", "listen_to_phrase",
               "&Listen to the phrase", "&Edit"),
    ActionSpec("copy_translation", "Ctrl+Shift+C", "Copy the translation", "copy_translation",
               "&Copy translation", "&Edit"),
    ActionSpec("clear", "Ctrl+Shift+Backspace", "Clear the phrase and the answer shown", "clear",
               "C&lear", "&Edit"),
    ActionSpec("zoom_in", "Ctrl++", "Larger transcript text", "zoom_in", "Zoom &in", "&View"),
    ActionSpec("zoom_out", "Ctrl+-", "Smaller transcript text", "zoom_out", "Zoom &out", "&View"),
    ActionSpec("zoom_reset", "Ctrl+0", "Transcript text at its usual size", "zoom_reset",
               "&Actual size", "&View"),
    ActionSpec("settings", "Ctrl+,", "Settings", "open_settings", "&Settings…", "&File", preferences=True),
    ActionSpec("guard", "Ctrl+G", "Guard: check (and repair) the audio of your own Realtime app",
               "open_guard", "&Guard…", "&Tools"),
    ActionSpec("undo_delete", "Ctrl+Z", "Undo the last history delete (when not typing)"),
    ActionSpec("delete_entry", "Del", "Delete the selected history entry (in the history list)"),
    ActionSpec("replay_entry", "Return", "Replay the selected history entry (in the history list)"),
    ActionSpec("shortcuts", "F1", "Keyboard shortcuts (this list)", "show_shortcuts",
               "&Keyboard shortcuts", "&Help"),
    ActionSpec("quit", "Ctrl+Q", "Quit", "close", "&Quit", "&File", separator_before=True),
)


MENUS = ("&File", "&Edit", "&View", "&Tools", "&Help")   # menu bar order


def shortcut_rows(table: tuple[ActionSpec, ...] = ACTIONS) -> list[tuple[str, str]]:
    """(key, what it does) for every row with a key, in table order."""
    return [(a.keys, a.help) for a in table if a.keys]


def build_actions(window: QMainWindow, table: tuple[ActionSpec, ...] = ACTIONS) -> dict[str, QAction]:
    """Create the QActions of `table` on `window`, put them in its menus, and set each as
    `window.<name>_action`. The slot is looked up when triggered, so it is always the
    window's current method."""
    used = {spec.menu for spec in table if spec.slot is not None and spec.menu}
    menus = {title: window.menuBar().addMenu(title) for title in MENUS if title in used}
    made: dict[str, QAction] = {}
    for spec in table:
        if spec.slot is None:
            continue
        action = QAction(spec.text or spec.help, window)
        if spec.keys:
            action.setShortcut(QKeySequence(spec.keys))
        action.triggered.connect(lambda _checked=False, slot=spec.slot: getattr(window, slot)())
        if spec.preferences:
            action.setMenuRole(QAction.MenuRole.PreferencesRole)
        if spec.menu is None:
            window.addAction(action)
        else:
            if spec.separator_before:
                menus[spec.menu].addSeparator()
            menus[spec.menu].addAction(action)
        setattr(window, f"{spec.name}_action", action)
        made[spec.name] = action
    return made


def shortcuts_dialog(parent, table: tuple[ActionSpec, ...] = ACTIONS) -> QDialog:
    dlg = QDialog(parent)
    dlg.setWindowTitle("Keyboard shortcuts")
    rows = shortcut_rows(table)
    view = QTableWidget(len(rows), 2, dlg)
    view.setObjectName("shortcuts")
    view.setHorizontalHeaderLabels(["Keys", "Does"])
    view.verticalHeader().hide()
    view.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for i, (key, what) in enumerate(rows):
        view.setItem(i, 0, QTableWidgetItem(QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)))
        view.setItem(i, 1, QTableWidgetItem(what))
    view.resizeColumnsToContents()
    view.horizontalHeader().setStretchLastSection(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    buttons.rejected.connect(dlg.reject)
    lay = QVBoxLayout(dlg)
    lay.addWidget(view)
    lay.addWidget(buttons)
    dlg.resize(600, 520)
    return dlg
