"""The window's named parts, its geometry across restarts, and the small views it opens.

A part of MainWindow (app/ui/main_window.py); it reads and sets the window's attributes.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from app.pipeline.translate import MAX_INPUT_CHARS
from app.ui import accessibility, theme
from app.ui.actions import build_actions, shortcuts_dialog
from app.ui.first_run import FirstRunHint
from app.ui.model_loading import MODEL_PROGRESS
from app.ui.result_pane import ResultPane
from app.ui.widgets import Banner, LanguageBar, PhraseEdit, PhraseTools

log = logging.getLogger(__name__)
STATUS_GAP_PX = 16   # between the status bar's labels
GEOMETRY_KEY = "window/geometry"
ZOOM_KEY = "view/transcript_zoom"
SPLITTER_KEY = "window/splitter"


class WindowLayout:
    # --- layout: named parts ------------------------------------------------------------
    def _build(self) -> None:
        self.setStyleSheet(theme.STYLE_SHEET)
        central = QWidget(self)
        outer = QVBoxLayout(central)
        self.language_bar = self._build_language_bar()
        outer.addWidget(self.language_bar)
        self.first_run_hint = FirstRunHint(self)
        self.first_run_hint.settings_requested.connect(self.open_settings)
        self.first_run_hint.dismissed.connect(self.refresh_status)      # the notice may speak now
        outer.addWidget(self.first_run_hint)
        self.phrase = PhraseEdit(self)
        self.phrase.setMaximumHeight(110)
        self.phrase.submitted.connect(self.translate_clicked)
        outer.addWidget(self.phrase)
        self.phrase_tools = self._build_phrase_tools()
        outer.addWidget(self.phrase_tools)
        outer.addLayout(self._build_request_row())
        outer.addLayout(self._build_error_row())
        self.result = self._build_result_pane()
        outer.addWidget(self.result, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(central)
        self.history_panel = self._make_history_panel()
        if self.history_panel is not None:
            self.splitter.addWidget(self.history_panel)
            self.splitter.setStretchFactor(0, 3)
            self.splitter.setStretchFactor(1, 2)
        self.setCentralWidget(self.splitter)
        self._build_status_bar()
        build_actions(self)
        # names for screen readers; Tab goes phrase → Translate → the answer → …
        accessibility.name_main_window(self)
        # typing right after launch goes into the phrase, never into a language list
        self.phrase.setFocus()
        self.resize(1100, 680)
        self._restore_layout()

    def _build_language_bar(self) -> LanguageBar:
        bar = LanguageBar(self.settings.source_language, self.settings.target_language, self)
        bar.swap_requested.connect(self.swap_languages)
        bar.languages_changed.connect(self._languages_changed)
        bar.settings_requested.connect(self.open_settings)
        self.source, self.target, self.swap = bar.source, bar.target, bar.swap
        self.settings_button = bar.settings_button
        return bar

    def _build_phrase_tools(self) -> PhraseTools:
        tools = PhraseTools(MAX_INPUT_CHARS, self)
        tools.listen_button.clicked.connect(self.listen_to_phrase)
        tools.clear_button.clicked.connect(self.clear)
        self.phrase.textChanged.connect(lambda: tools.set_count(len(self.phrase.toPlainText())))
        self.char_count = tools.count
        return tools

    def _build_request_row(self) -> QHBoxLayout:
        """The notice about the engine (with its way forward) and the Translate/Stop button."""
        row = QHBoxLayout()
        self.notice = Banner("notice", self)
        row.addWidget(self.notice, 1)
        self.notice_settings = QPushButton("Open Settings…", self)
        self.notice_settings.setToolTip("Add an OpenAI or Azure API key")
        self.notice_settings.clicked.connect(self.open_settings)
        self.notice_settings.hide()
        row.addWidget(self.notice_settings, 0, Qt.AlignmentFlag.AlignTop)
        self.translate_button = QPushButton("Translate", self)
        self.translate_button.setObjectName("primary")
        self.translate_button.setToolTip("Translate and speak (Ctrl+Enter)")
        self.translate_button.clicked.connect(self.translate_clicked)
        row.addWidget(self.translate_button, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        return row

    def _build_error_row(self) -> QHBoxLayout:
        """The error banner and, beside it, the one action that helps (Open Settings, Retry)."""
        row = QHBoxLayout()
        self.error = Banner("error", self)
        row.addWidget(self.error, 1)
        self.error_action = QPushButton(self)
        self.error_action.setObjectName("errorAction")
        self.error_action.clicked.connect(self._error_action_clicked)
        self.error_action.hide()
        row.addWidget(self.error_action, 0, Qt.AlignmentFlag.AlignTop)
        return row

    def _build_result_pane(self) -> ResultPane:
        pane = ResultPane(self)
        pane.seek_requested.connect(self.seek)
        pane.copy_button.clicked.connect(self.copy_translation)
        pane.repair_button.clicked.connect(self.repair_clicked)
        pane.player_bar.play_toggled.connect(self.toggle_play)
        pane.player_bar.replay.connect(self.replay)
        pane.player_bar.seek.connect(self.seek)
        pane.player_bar.source_toggled.connect(self._compare_toggled)
        self.title, self.badge, self.transcript = pane.title, pane.badge, pane.transcript
        self.flags, self.legend, self.player_bar = pane.flags, pane.legend, pane.player_bar
        return pane

    def _build_status_bar(self) -> None:
        bar = QStatusBar(self)
        self.engine_label = QLabel(self)
        self.connection_label = QLabel("not connected", self)
        self.audio_label = QLabel(self)
        self.verifier_label = QLabel(self)
        for w in (self.engine_label, self.connection_label, self.audio_label, self.verifier_label):
            w.setContentsMargins(STATUS_GAP_PX // 2, 0, STATUS_GAP_PX // 2, 0)   # "…engine  connected" read as one
            bar.addPermanentWidget(w)
        self.model_bar = QProgressBar(self)
        self.model_bar.setMaximumWidth(160)
        self.model_bar.setFormat(MODEL_PROGRESS)
        self.model_bar.hide()
        bar.addPermanentWidget(self.model_bar)
        self.setStatusBar(bar)

    # --- window geometry, kept across restarts ------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.qsettings.value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        splitter = self.qsettings.value(SPLITTER_KEY)
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        try:
            self.transcript.set_zoom(int(self.qsettings.value(ZOOM_KEY, 0)))
        except (TypeError, ValueError):
            pass      # a hand-edited settings file: the usual size

    def save_layout(self) -> None:
        """Window size and place, and where the history divider is (restored at next start)."""
        self.qsettings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self.qsettings.setValue(SPLITTER_KEY, self.splitter.saveState())
        self.qsettings.sync()

    def _has_key(self) -> bool:
        return any(self.services.secrets.get(p) for p in ("openai", "azure"))

    def _show_first_run_hint(self) -> None:
        """Once, on the first launch with no key: what works offline and how to add a key."""
        if self._has_key():
            self.first_run_hint.show_if_first_run(self.qsettings, has_key=True)
            return
        try:
            translates = self.services.provider() == "local" and self.services.translator().available
        except Exception:      # the hint must never keep the window from opening
            translates = False
        self.first_run_hint.show_if_first_run(self.qsettings, has_key=False, translates=translates)

    def _theme_changed(self, _colors) -> None:
        """Light/dark switched: repaint what is drawn with theme colours (flags, highlight)."""
        self.transcript.set_report(self.transcript.report)
        self.result.restyle()
        self.phrase_tools.set_count(len(self.phrase.toPlainText()))    # its colours
        if self.history_panel is not None:
            self.history_panel.refresh()       # its rows carry the status colour
        if self.guard_view is not None:
            self.guard_view.restyle()

    def focus_phrase(self) -> None:
        self.phrase.setFocus()

    def open_guard(self):
        if self.guard_view is None:
            from app.ui.guard_view import GuardView

            self.guard_view = GuardView(self.services, parent=self)
            self.guard_view.open_requested.connect(self.open_from_history)
            self.guard_view.response_saved.connect(lambda _uid: self.history_changed(None))
            accessibility.name_guard_view(self.guard_view)
        self.guard_view.show()
        self.guard_view.raise_()
        return self.guard_view

    def shortcuts_dialog(self):
        return shortcuts_dialog(self)

    def show_shortcuts(self) -> None:
        self._shortcuts_dialog = self.shortcuts_dialog()
        self._shortcuts_dialog.open()

    def _make_history_panel(self):
        try:
            from app.ui.history_panel import HistoryPanel

            panel = HistoryPanel(self.services.store(), parent=self)
        except Exception:  # a broken history must not keep the app from starting
            log.exception("history unavailable")
            return None
        panel.utterance_selected.connect(self.open_from_history)
        panel.replay_requested.connect(lambda uid: (self.open_from_history(uid), self.replay()))
        return panel


    # --- transcript text size -----------------------------------------------------------
    def zoom_in(self) -> None:
        self.set_zoom(self.transcript.zoom + 1)

    def zoom_out(self) -> None:
        self.set_zoom(self.transcript.zoom - 1)

    def zoom_reset(self) -> None:
        self.set_zoom(0)

    def set_zoom(self, step: int) -> None:
        """Transcript text size, in steps from the usual (kept for the next start)."""
        self.qsettings.setValue(ZOOM_KEY, self.transcript.set_zoom(step))
