"""The main window: type, hear, see each word as it is spoken, see what the audio missed.

Thin over app.pipeline (the flow) and app.audio.player (the clock): this file wires
signals, shows state, and turns every failure into a message in the window. Where a
request is (connecting, streaming, verifying, repairing, done, stopped) lives in one
app.pipeline.state.RequestState; the button, the badge and Esc all read it.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app import APP_NAME
from app.audio.player import Player
from app.core.secrets import SecretStore
from app.core.settings import Settings, endpoint_problem
from app.core.timing import estimate_word_times
from app.core.utterance import Utterance
from app.core.warmup import startup_job
from app.pipeline import InputError, Listener, Pipeline, check_input
from app.pipeline.services import Services
from app.pipeline.state import RequestState
from app.pipeline.translate import MAX_INPUT_CHARS
from app.ui import accessibility, appearance, theme
from app.ui.actions import build_actions, shortcuts_dialog
from app.ui.first_run import FirstRunHint
from app.ui.qt_settings import load_settings, save_settings
from app.ui.result_pane import ResultPane
from app.ui.threads import ui_thread
from app.ui.widgets import Banner, LanguageBar, PhraseEdit, PhraseTools, elide_status

log = logging.getLogger(__name__)
POLL_MS = 30   # ≥ 30 Hz highlight updates from the player clock
STATUS_GAP_PX = 16   # between the status bar's labels
MODEL_PROGRESS = "model %p%"         # the status bar while the speech model is fetched or assembled
MODEL_LOADING = "loading model…"     # ... and once all of it is there, until it is loaded

GEOMETRY_KEY = "window/geometry"
ZOOM_KEY = "view/transcript_zoom"
SPLITTER_KEY = "window/splitter"
ERROR_CAUSES_OF_A_REQUEST = ("input", "request", "connection")


def _outcome(future) -> str:
    """A model load's end, as the window shows it: "ok" or "error:<why>"."""
    if future.cancelled():
        return "error:cancelled"
    return "ok" if future.exception() is None else f"error:{future.exception()}"


class _WindowListener(Listener):
    """Pipeline progress -> window. The pipeline calls it from the event loop's thread, which
    under qasync is the Qt thread (history saves on the disk thread report back through the
    loop too); worker threads reach the window through app.ui.threads instead."""

    def __init__(self, window: MainWindow) -> None:
        self.w = window

    def on_started(self, u):
        self.w.request.advance("streaming")
        self.w.show_utterance(u, live=True)

    def on_transcript(self, u):
        # Deltas arrive far faster than anyone reads: re-splitting and re-timing the whole
        # transcript per delta is quadratic over a long answer. Render once per tick instead.
        if u is self.w.utterance:
            self.w.transcript_dirty = True

    def on_audio(self, u, pcm):
        if u is self.w.utterance:
            self.w.player_bar.set_enabled(True)

    def on_done(self, u):
        if u is self.w.utterance:
            self.w.transcript.set_text(u.transcript)
            self.w.set_title(u)
            if u.report is None:
                self.w.transcript.set_word_times(estimate_word_times(u.transcript, u.duration_s or None))
            self.w.set_badge(u.status if u.state != "complete" else "verifying")

    def on_verifying(self, u):
        self.w.request.advance("verifying")
        if u is self.w.utterance:
            self.w.set_badge("verifying")

    def on_report(self, u):
        if u is self.w.utterance:
            self.w.apply_report(u)
            if u.status == "repaired" and not u.meta.get("repair_played"):
                # the audio now says the transcript: that is what the user should hear
                u.meta["repair_played"] = True
                self.w.player.load(u.audio, u.sample_rate)
                self.w.transcript.reset_position()
                self.w.player.play()
        self.w.history_changed(u)

    def on_repair(self, u, message):
        self.w.request.advance("repairing")
        if u is self.w.utterance:
            self.w.set_badge("repairing", message)

    def on_saved(self, u):
        self.w.history_changed(u)

    def on_stopped(self, u, stage):
        self.w.stopped_stage = stage
        self.w.history_changed(u)

    def on_error(self, u, message):
        self.w.show_error(message, cause="request")


class MainWindow(QMainWindow):
    def __init__(self, services: Services | None = None, player: Player | None = None,
                 qsettings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.qsettings = qsettings or QSettings()
        # app.ui.launch composes the parts; building them here is for scripts and benches
        self.services = services or Services(load_settings(self.qsettings), SecretStore())
        self.settings: Settings = self.services.settings
        self.player = player or self.services.make_player()
        self.client = None
        self.pipeline: Pipeline | None = None
        self.utterance: Utterance | None = None
        self.transcript_dirty = False   # streamed text waiting for the next refresh tick
        self.task: asyncio.Task | None = None
        self.request = RequestState(on_change=self._phase_changed)
        self.listener: Listener = _WindowListener(self)   # the pipeline reports through it
        self.stopped_stage: str | None = None
        self.error_cause: str | None = None
        self._phrase_baseline = ""     # the phrase box as last sent or loaded: anything else is a draft
        self._model_generation = 0     # progress from a replaced model's loader is ignored
        self._closed = False
        self.guard_view = None         # built when first opened
        self.phrase_player: Player | None = None      # the phrase read aloud, beside the answer's player
        self._listen_task: asyncio.Task | None = None
        self.to_ui = ui_thread()       # worker threads reach the window only through this
        self._build()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(POLL_MS)
        self.refresh_timer.timeout.connect(self.tick)
        self.refresh_timer.start()
        self._show_first_run_hint()
        self.refresh_status()
        # light or dark as the system says (or as chosen in Settings), live
        self.appearance = appearance.install(QApplication.instance(), self.settings.appearance)
        self.appearance.changed.connect(self._theme_changed)
        QTimer.singleShot(0, self, self._start_up)     # once the window is up

    def _start_up(self) -> None:
        """What the first request needs, prepared in the background one job at a time (the
        process's start-up queue, app.core.warmup.startup_job): the engine first, since the
        first request needs it, then the verifier's model. Side by side they competed for the
        GIL and were still running when the first request came (issue 16)."""
        self._start_engine()
        self.warm_verifier()

    # --- verifier model: load in the background, with a progress bar -----------------------
    def warm_verifier(self) -> None:
        """Load the speech model now (assembling or downloading a user-chosen one first), so
        the first answer is checked without waiting; the status bar shows the progress."""
        self._model_generation += 1
        generation = self._model_generation
        self.model_bar.hide()
        self.verifier_label.setText("Verifier: loading…")
        self.verifier_label.setToolTip(f"Speech model: {self.settings.verifier_model}")
        to_ui, services = self.to_ui, self.services

        def progress(done: int, total: int) -> None:     # on the download thread
            to_ui(self._from_loader, generation, self._show_model_progress,
                  int(done // 1024), int(max(total, 1) // 1024))

        def loaded(result: str) -> None:
            to_ui(self._from_loader, generation, self._model_loaded, result)

        def load():
            # building the worker imports app.verify (faster-whisper, CTranslate2): ~100 ms of
            # imports that would stall the Qt loop at start
            try:
                future = services.verifier().warm(progress=progress)
            except Exception as exc:
                loaded(f"error:{exc}")
                return None
            future.add_done_callback(lambda f: loaded(_outcome(f)))
            # at start the queue waits for the load (nothing else runs beside CTranslate2's);
            # a model changed later loads without holding anything up
            return future if generation == 1 else None

        startup_job(load, name="verifier")

    def _from_loader(self, generation: int, show, *args) -> None:
        """On the Qt thread: show what the model loader said, unless the window is gone or
        the settings have since replaced that model."""
        if self._closed or not isValid(self) or generation != self._model_generation:
            return
        show(*args)

    def _start_engine(self) -> None:
        """With the local provider, start the engine in the background now so the first
        request does not wait for voices to load (nor import onnxruntime on its way)."""
        if self.pipeline is None:
            try:
                self.services.start_engine_in_background()
            except Exception:   # the first request tries again and says why
                log.warning("could not start the local engine early", exc_info=True)

    def _show_model_progress(self, done_kb: int, total_kb: int) -> None:
        # all of it fetched or assembled: what is left is loading it (the bar goes when loaded)
        whole = done_kb >= total_kb
        self.model_bar.setFormat(MODEL_LOADING if whole else MODEL_PROGRESS)
        self.model_bar.show()
        self.model_bar.setRange(0, max(1, total_kb))
        self.model_bar.setValue(min(done_kb, total_kb))

    def _model_loaded(self, result: str) -> None:
        self.model_bar.hide()
        if result == "ok":
            self.verifier_label.setText("Verifier: ready")
            if self.error_cause == "verifier":
                self.clear_error()
            if self._model_generation > 1:
                self.show_status(f"The new verifier model is ready: {self.settings.verifier_model}", 8000)
        else:
            self.verifier_label.setText("Verifier: unavailable")
            self.show_error("The verifier's speech model could not be loaded, so mismatches will not be "
                            f"flagged: {result.removeprefix('error:')}", cause="verifier")

    def reload_verifier(self) -> None:
        """The verifier model setting changed: load the new one now, in the background."""
        try:
            self.services.replace_verifier()
        except Exception as exc:
            self._model_generation += 1
            self._model_loaded(f"error:{exc}")
            return
        self.show_status(f"Verifier model changed — loading {self.settings.verifier_model}…", 8000)
        self.warm_verifier()

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
        self.error = Banner("error", self)
        outer.addWidget(self.error)
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

    # --- status ------------------------------------------------------------------------
    def refresh_status(self) -> None:
        st = self.services.status(self.source.code(), self.target.code())
        self.engine_label.setText(f"Engine: {st.label}")
        # the first-run hint already says what reading back means and offers Settings: say it once
        hinted = not self.first_run_hint.isHidden()
        self.notice.show_message("" if hinted and st.problem == "read-back" else st.notice)
        self.notice_settings.setVisible(bool(st.notice) and "settings" in st.actions and not hinted)
        self.notice.setProperty("problem", st.problem)
        out = self.player.output
        self.audio_label.setText(f"Audio: {out.name}" if out.available else "Audio: silent")
        self.audio_label.setToolTip(out.reason or out.name)
        if not out.available:
            self.audio_label.setText("No audio output (silent)")

    def set_connection(self, text: str) -> None:
        self.connection_label.setText(text)

    def set_title(self, u: Utterance | None) -> None:
        self.result.set_title("read_back" if u is not None and u.meta.get("read_back") else "translation")

    def set_badge(self, status: str, text: str | None = None) -> None:
        u = self.utterance
        if text is None:
            if status == "mismatch" and u is not None and u.report is not None:
                n, total = len(u.report.flagged_segments), len(u.report.segments)
                text = f"Audio differs: {n} of {total} sentence{'s' if total != 1 else ''}"
                if u.report.doubtful_segments:
                    text += f", {len(u.report.doubtful_segments)} may differ"
            elif status in ("match", "repaired") and u is not None and u.report is not None \
                    and u.report.uncertain:
                m = len(u.report.doubtful_segments)
                text = (f"{theme.STATUS[status].badge} — {m} sentence{'s' if m != 1 else ''} "
                        "may differ (unsure)")
            else:
                text = theme.STATUS[status].badge if status in theme.STATUS else status
        self.result.set_badge(status, text)

    def show_error(self, message: str, cause: str = "request") -> None:
        """An inline error; `cause` says what makes it go away (a new request, new settings,
        a model that loads)."""
        log.warning("shown to user: %s", message)
        self.error_cause = cause
        self.error.show_message(message)
        self.show_status(message, 8000)

    def clear_error(self, *causes: str) -> None:
        if not causes or self.error_cause in causes:
            self.error.hide()
            self.error_cause = None

    def show_status(self, message: str, timeout_ms: int = 4000) -> None:
        """A temporary status-bar message, elided so it never runs into the permanent labels."""
        bar = self.statusBar()
        text = elide_status(bar, message)
        bar.showMessage(text, timeout_ms)
        bar.setToolTip(message if text != message else "")

    # --- the request's state -----------------------------------------------------------
    def _phase_changed(self, _old: str, phase: str) -> None:
        busy = self.request.active
        self.translate_button.setText("Stop" if busy else "Translate")
        self.translate_button.setToolTip("Stop this answer, its check or repair (Esc)" if busy
                                         else "Translate and speak (Ctrl+Enter)")
        self._offer_repair()
        if phase == "connecting" and self.pipeline is None:
            self.set_badge("connecting")
        elif phase == "stopped":
            self.set_badge("stopped", {"connecting": "Stopped before connecting",
                                       "streaming": "Stopped — answer incomplete",
                                       "verifying": "Stopped — not checked",
                                       "repairing": "Stopped — not repaired"}.get(self.stopped_stage or "",
                                                                                   "Stopped"))

    # --- actions -----------------------------------------------------------------------
    def swap_languages(self) -> None:
        src, tgt = self.source.code(), self.target.code()
        if src == "auto":
            detected = self.utterance.meta.get("transcript_language") if self.utterance else None
            src = detected if detected and detected != tgt else ("es" if tgt == "en" else "en")
        self.language_bar.swap_codes(tgt, src)
        u = self.utterance
        if u is None or not u.transcript or self.request.active:
            return
        # the answer becomes the phrase, and the phrase is shown where the answer was (no audio yet)
        earlier = self.phrase.toPlainText()
        self.phrase.setPlainText(u.transcript)
        self._phrase_baseline = u.transcript
        self._clear_answer()
        self.transcript.set_text(earlier)
        self.result.set_title("swapped")

    def _clear_answer(self) -> None:
        """Nothing shown on the answer side, and nothing to play."""
        self.player.stop()
        self.player.load(None, self.utterance.sample_rate if self.utterance else 24000)
        self.utterance = None
        self.transcript.clear_all()
        self.result.hide_flags()
        self.set_badge("idle")
        self.result.set_title("translation")
        self.player_bar.set_enabled(False)
        self.player_bar.compare_button.hide()

    def clear(self) -> None:
        """Clear (Ctrl+Shift+Backspace): an empty phrase box and answer; history keeps everything."""
        if self.request.active:
            self.stop()
        self.stop_phrase()
        self.phrase.clear()
        self._phrase_baseline = ""
        self._clear_answer()
        self.phrase.setFocus()

    def copy_translation(self) -> None:
        """The transcript shown, to the clipboard (Ctrl+Shift+C)."""
        from PySide6.QtWidgets import QApplication

        text = self.transcript.text
        if not text.strip():
            self.show_status("Nothing to copy yet: translate a phrase first.", 4000)
            return
        QApplication.clipboard().setText(text)
        self.show_status("Translation copied.", 3000)

    # --- listening to the phrase itself (offline voice) -----------------------------------
    def listen_to_phrase(self) -> None:
        """Read the phrase aloud in its own language with the offline voices (Ctrl+Shift+S)."""
        text = self.phrase.toPlainText().strip()
        if not text:
            self.show_status("Type a phrase to listen to first.", 4000)
            return
        language = self.source.code()
        if language == "auto":
            from app.core.langid import detect_text_language

            language = detect_text_language(text, default="en") or "en"
        self.stop_phrase()
        self._listen_task = asyncio.ensure_future(self._speak_phrase(text, language))

    async def _speak_phrase(self, text: str, language: str) -> None:
        try:
            pcm = await self.services.phrase_speech().speak(text, language)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("reading the phrase aloud failed", exc_info=True)
            self.show_status(f"Could not read the phrase aloud: {exc}", 8000)
            return
        if self.phrase_player is None:
            self.phrase_player = self.services.make_player()
        if self.player.is_active:
            self.player.pause()        # one voice at a time
        self.phrase_player.load(pcm, 24000)
        self.phrase_player.play()

    def stop_phrase(self) -> bool:
        """Stop reading the phrase aloud; True when something was stopped."""
        stopped = False
        if self._listen_task is not None and not self._listen_task.done():
            self._listen_task.cancel()
            stopped = True
        if self.phrase_player is not None and self.phrase_player.is_active:
            self.phrase_player.stop()
            stopped = True
        return stopped

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

    def _languages_changed(self) -> None:
        self.settings.source_language = self.source.code()
        self.settings.target_language = self.target.code()
        save_settings(self.qsettings, self.settings)
        self.refresh_status()

    def translate_clicked(self) -> None:
        if self.request.active or (self.task is not None and not self.task.done()):
            self.stop()
            return
        try:
            text = check_input(self.phrase.toPlainText())
        except InputError as exc:
            self.show_error(str(exc), cause="input")
            return
        self.clear_error(*ERROR_CAUSES_OF_A_REQUEST)
        self.task = asyncio.ensure_future(self._translate(text, self.source.code(), self.target.code()))

    def stop(self) -> None:
        """Stop / Esc: cancel whatever runs (connecting, answer, check, repair) and the audio."""
        running = self.task is not None and not self.task.done()
        if self.stop_phrase() and not running and not self.player.is_active:
            return
        if running:
            self.task.cancel()
        if self.player.is_active or running:
            self.player.stop()
            if not running:
                self.show_status("Playback stopped.", 3000)

    async def translate_now(self, text: str, source: str | None = None, target: str | None = None, *,
                            metadata: dict[str, str] | None = None) -> Utterance | None:
        """Translate `text` (from/to the pickers' languages unless given) and return once the
        answer is checked and, if asked, repaired: what Translate starts, for scripts and tests.
        `metadata` goes to the server (the local engine reads pacing and faults from it)."""
        return await self._translate(text, source or self.source.code(), target or self.target.code(),
                                     metadata=metadata)

    async def _translate(self, text: str, source: str, target: str, metadata=None) -> Utterance | None:
        self.stopped_stage = None
        self._phrase_baseline = self.phrase.toPlainText()
        self.request.advance("connecting")
        try:
            pipeline = await self._ensure_pipeline()
            if pipeline is None:
                self.request.advance("failed")
                return None
            u = await pipeline.translate(text, source, target, metadata=metadata)
        except asyncio.CancelledError:
            self.stopped_stage = self.stopped_stage or self.request.phase
            self.player.stop()
            self.request.advance("stopped")
            self.show_status({"verifying": "Stopped while checking the audio: saved as not verified.",
                              "repairing": "Stopped the repair: the flags stay."}.get(
                self.stopped_stage, "Stopped."), 6000)
            return None
        except InputError as exc:
            self.request.advance("failed")
            self.show_error(str(exc), cause="input")
        except Exception as exc:
            log.exception("translation failed")
            self.request.advance("failed")
            self.show_error(f"Translation failed: {exc}", cause="request")
            self.set_connection("disconnected")
        else:
            self.request.advance("done")
            if u is self.utterance:
                self.set_badge(u.status)
            if u.state == "complete" and self.error_cause in ERROR_CAUSES_OF_A_REQUEST and \
                    not u.meta.get("unverified", "").startswith("Could not"):
                self.clear_error()
            return u
        return None

    async def _ensure_pipeline(self) -> Pipeline | None:
        """The pipeline of the current connection; connects first when there is none."""
        if self.pipeline is not None:
            return self.pipeline
        status = self.services.status()
        problem = self._connection_problem(status)
        if problem:
            self.show_error(problem, cause="connection")
            return None
        client = await self._connect(status)
        if client is None:
            return None
        self.refresh_status()     # the engine now knows which pairs it really translates
        verifier = await self._verifier_or_none()
        store = self._store_or_none()
        self.pipeline = self.services.make_pipeline(client, player=self.player, listener=self.listener,
                                                    ask_repair=self._ask_repair, verifier=verifier, store=store)
        return self.pipeline

    def _connection_problem(self, status) -> str:
        """Why connecting cannot work with these settings ("" when it may)."""
        if status.problem == "no-key":
            return status.notice
        if status.provider != "local" and endpoint_problem(self.settings.endpoint):
            return endpoint_problem(self.settings.endpoint) + " Change it in Settings."
        return ""

    async def _connect(self, status):
        """A connected client, or None after saying in the window why not."""
        where = status.label + (f" at {self.settings.endpoint}" if self.settings.endpoint
                                and status.provider != "local" else "")
        self.set_connection("connecting…")
        client = None
        try:
            # off the Qt thread: starting the local engine loads its voices (seconds)
            client = await asyncio.to_thread(self.services.make_client)
            await client.connect()
        except asyncio.CancelledError:
            self.set_connection("not connected")
            if client is not None:
                asyncio.ensure_future(client.close())
            raise
        except Exception as exc:
            log.exception("connect failed")
            self.set_connection("not connected")
            self.show_error(f"Could not connect to {where}: {exc}", cause="connection")
            return None
        self.client = client
        self.set_connection("connected")
        return client

    async def _ask_repair(self, u: Utterance) -> bool:
        """Policy 'ask': a non-blocking question; the loop keeps running while it is open."""
        from PySide6.QtWidgets import QMessageBox

        n = len(u.report.flagged_segments) if u.report else 0
        box = QMessageBox(QMessageBox.Icon.Question, "Repair the audio?",
                          f"The audio does not say {n} sentence{'s' if n != 1 else ''} of the transcript. "
                          "Re-voice it so the audio matches?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        future = asyncio.get_running_loop().create_future()
        box.finished.connect(lambda _r: future.done() or future.set_result(
            box.clickedButton() == box.button(QMessageBox.StandardButton.Yes)))
        self.request.advance("repairing")
        box.open()
        try:
            return await future
        except asyncio.CancelledError:
            box.close()     # Stop while the question is open: the question goes too
            raise

    async def _verifier_or_none(self):
        try:   # off the Qt thread: it may still be importing app.verify at start
            return await asyncio.to_thread(self.services.verifier)
        except Exception as exc:
            log.exception("verifier unavailable")
            self.verifier_label.setText("Verifier: unavailable")
            self.show_error(f"The verifier could not start, so mismatches will not be flagged: {exc}",
                            cause="verifier")
            return None

    def _store_or_none(self):
        try:
            return self.services.store()
        except Exception as exc:
            log.exception("history unavailable")
            self.show_error(f"History is unavailable, this answer will not be saved: {exc}", cause="history")
            return None

    async def reset_connection(self) -> None:
        """After settings change: drop the client so the next request uses the new ones."""
        client, self.client, self.pipeline = self.client, None, None
        if client is not None:
            try:
                await client.close()
            except Exception:
                log.exception("closing the client failed")
        self.set_connection("not connected")
        self.refresh_status()

    # --- showing an utterance -------------------------------------------------------------
    def show_utterance(self, u: Utterance, *, live: bool = False) -> None:
        self.utterance = u
        self.set_title(u)
        self.transcript.clear_all()
        self.transcript.set_text(u.transcript)
        self.result.hide_flags()
        self.player_bar.compare_button.setVisible(u.original_audio is not None)
        self.player_bar.compare_button.setChecked(False)
        if live:
            self.set_badge("streaming")
            self.player_bar.set_enabled(False)
            return
        if u.report is not None:
            self.apply_report(u)
        else:
            self.transcript.set_word_times(estimate_word_times(u.transcript, u.duration_s or None))
            self.set_badge(u.status)
        self.player.load(u.audio, u.sample_rate)
        self.player_bar.set_enabled(len(u.audio) > 0)

    def apply_report(self, u: Utterance) -> None:
        report = u.report
        self.player_bar.compare_button.setVisible(u.original_audio is not None)
        self.transcript.set_report(report)
        times = [(w.start_s, w.end_s) if w.start_s is not None else None for w in report.words]
        if len(times) != len(self.transcript.words()):
            times = estimate_word_times(u.transcript, u.duration_s or None)
        self.transcript.set_word_times(times)
        self.result.show_flags(report)
        self.set_badge(u.status)
        self._offer_repair()

    def _offer_repair(self) -> None:
        """Repair audio is offered for a settled answer with red or amber sentences."""
        u = self.utterance
        self.result.repair_button.setVisible(
            u is not None and u.report is not None and bool(u.report.differing_segments)
            and not self.request.active and len(u.audio) > 0)

    def repair_clicked(self) -> None:
        u = self.utterance
        if u is None or self.request.active or (self.task is not None and not self.task.done()):
            return
        self.task = asyncio.ensure_future(self.repair_now(u))

    async def repair_now(self, u: Utterance) -> bool:
        """Re-voice the answer's red and amber sentences (the button; also for tests)."""
        self.stopped_stage = None
        pipeline = await self._ensure_pipeline()
        if pipeline is None or not self.request.advance("repairing"):
            return False
        try:
            repaired = await pipeline.repair_requested(u)
        except asyncio.CancelledError:
            self.stopped_stage = "repairing"
            self.player.stop()
            self.request.advance("stopped")
            self.show_status("Stopped the repair: the flags stay.", 6000)
            return False
        except Exception as exc:
            log.exception("repair failed")
            self.request.advance("failed")
            self.show_error(f"Repair failed: {exc}", cause="request")
            return False
        self.request.advance("done")
        if u is self.utterance:
            self.show_utterance(u)
        return repaired

    def open_from_history(self, utterance_id: str) -> None:
        if self.request.active:
            self.show_error("Finish or stop the current translation before opening another one.", cause="input")
            return
        try:
            u = self.services.store().get(utterance_id)
        except Exception as exc:
            self.show_error(f"Could not open that entry: {exc}", cause="history")
            return
        if u is None:
            return
        self.show_utterance(u)
        draft = self.phrase.toPlainText()
        if not draft.strip() or draft == self._phrase_baseline:
            self.phrase.setPlainText(u.input_text)
            self._phrase_baseline = u.input_text
            # the entry's phrase with its own languages: Translate sends it again as it was
            self.language_bar.swap_codes(u.source_language, u.target_language)
        elif draft != u.input_text:
            # never overwrite what the user is typing: the entry's text is one click away
            self.show_status("Your unsent text was kept in the phrase box.", 5000)

    def history_changed(self, u: Utterance | None) -> None:
        panel = self.history_panel
        if panel is not None:
            # the answer on screen is the selected row, so Replay/Export/Delete act on it
            shown = u.id if u is not None and u is self.utterance else None
            panel.refresh(show=shown)

    # --- playback ------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player.is_active:
            self.player.pause()
        else:
            if self.player.state == "ended":
                self.transcript.reset_position()
            self.player.play()

    def keyPressEvent(self, event) -> None:
        # Space reaches the window only when the focused widget did not use it (text boxes,
        # buttons and lists do): then it plays or pauses, as the play button's tooltip says
        if event.key() == Qt.Key.Key_Space and not event.modifiers() and self.player_bar.play_button.isEnabled():
            event.accept()
            self.toggle_play()
            return
        super().keyPressEvent(event)

    def replay(self) -> None:
        self.player.seek(0.0)
        self.transcript.reset_position()
        self.player.play()

    def seek(self, seconds: float) -> None:
        self.player.seek(seconds)
        self.transcript.reset_position()
        if not self.player.is_active:
            self.player.play()

    def _compare_toggled(self, original: bool) -> None:
        u = self.utterance
        if u is None or u.original_audio is None:
            return
        audio = u.original_audio if original else u.audio
        report = u.original_report if original else u.report
        self.player_bar.compare_button.setText("Hear repaired" if original else "Hear original")
        self.player.load(audio, u.sample_rate)
        if report is not None:
            self.transcript.set_report(report)
            self.transcript.set_word_times([(w.start_s, w.end_s) if w.start_s is not None else None
                                            for w in report.words])
        self.replay()

    def tick(self) -> None:
        """One refresh (the timer runs it every POLL_MS): streamed text, highlight, progress."""
        if self.transcript_dirty:
            self.transcript_dirty = False
            u = self.utterance
            if u is not None and u.transcript != self.transcript.text:
                self.transcript.set_text(u.transcript)
                self.transcript.set_word_times(estimate_word_times(u.transcript))
        pos = self.player.position_s
        self.transcript.set_position(pos)
        self.player_bar.set_progress(pos, self.player.duration_s)
        self.player_bar.set_playing(self.player.is_active)

    # --- settings ------------------------------------------------------------------------
    def open_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.settings, self.services.secrets, parent=self)
        if dlg.exec():
            self.apply_settings(dlg.result_settings())

    def apply_settings(self, new: Settings) -> None:
        """Settings OK: the next request uses them; a new verifier model loads right away."""
        old = self.settings
        if self.request.active:
            self.stop()        # an answer from the old connection would land under the new settings
        self.settings = new
        self.services.settings = new
        save_settings(self.qsettings, new)
        appearance.install(QApplication.instance(), new.appearance)
        if self._has_key():
            self.first_run_hint.dismiss()      # the key it asked for is there
        self.clear_error("connection", "request", "input")
        if new.verifier_model != old.verifier_model:
            self.reload_verifier()
        asyncio.ensure_future(self.reset_connection())
        self.refresh_status()

    def closeEvent(self, event) -> None:
        self._closed = True
        self.save_layout()
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.refresh_timer.stop()
        if self.guard_view is not None:
            self.guard_view.shutdown()
        self.stop_phrase()
        try:
            self.player.close()
            if self.phrase_player is not None:
                self.phrase_player.close()
        finally:
            self.services.close()
        super().closeEvent(event)
