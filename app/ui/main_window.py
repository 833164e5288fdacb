"""The main window: type, hear, see each word as it is spoken, see what the audio missed.

Thin over app.pipeline (the flow) and app.audio.player (the clock): this file wires
signals, shows state, and turns every failure into a message in the window. Where a
request is (connecting, streaming, verifying, repairing, done, stopped) lives in one
app.pipeline.state.RequestState; the button, the badge and Esc all read it.

Its parts live beside it, one concern each: window_layout (the widgets), model_loading,
window_connection, answer_display (an answer, its report and repair), playback_controls
and phrase_voice.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
)

from app import APP_NAME
from app.audio.player import Player
from app.core.secrets import SecretStore
from app.core.settings import Settings
from app.core.timing import estimate_word_times
from app.core.utterance import Utterance
from app.pipeline import InputError, Listener, Pipeline, check_input
from app.pipeline.services import Services
from app.pipeline.state import RequestState
from app.pipeline.translate import play_repaired_now
from app.ui import appearance, theme
from app.ui.answer_display import AnswerDisplay
from app.ui.model_loading import ModelLoading
from app.ui.phrase_voice import PhraseVoice
from app.ui.playback_controls import PlaybackControls
from app.ui.qt_settings import load_settings, save_settings
from app.ui.threads import ui_thread
from app.ui.widgets import elide_status
from app.ui.window_connection import WindowConnection
from app.ui.window_layout import WindowLayout

log = logging.getLogger(__name__)
POLL_MS = 30   # ≥ 30 Hz highlight updates from the player clock
ERROR_CAUSES_OF_A_REQUEST = ("input", "request", "connection")
ERROR_ACTIONS = {"settings": "Open Settings…", "retry": "Retry"}



def _what_is_missing(u: Utterance) -> str:
    """For an answer cut off mid-stream: how much arrived, so the user knows what is missing."""
    if u.state != "incomplete":
        return ""
    if not len(u.audio):
        return "The answer arrived as text only, with no audio; Retry asks again."
    return (f"Only {u.duration_s:.1f} s of audio arrived and the transcript may stop short; "
            "Retry asks again.")


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
            if play_repaired_now(u):
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
        w = self.w
        if w.client is not None and not w.client.connected:
            w.set_connection("not connected")      # the socket dropped: say so, not "connected"
        what = _what_is_missing(u)
        if what:
            message = message.rstrip() + ("" if message.rstrip().endswith((".", "!", "?")) else ".") + " " + what
        w.show_error(message, cause="request", action="retry")


class MainWindow(WindowLayout, ModelLoading, WindowConnection, AnswerDisplay, PlaybackControls,
                 PhraseVoice, QMainWindow):
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
        self._last_request: tuple | None = None    # what Retry sends again
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
            elif status in ("match", "repaired") and u is not None and u.report is not None:
                text = theme.STATUS[status].badge
                if u.meta.get("read_back"):
                    # a ✓ beside untranslated text must not read as "translated": say what matched
                    text = "Read back, " + text[0].lower() + text[1:]
                if u.report.uncertain:
                    m = len(u.report.doubtful_segments)
                    text += f" — {m} sentence{'s' if m != 1 else ''} may differ (unsure)"
            elif status == "incomplete" and u is not None:
                text = (f"{theme.STATUS[status].badge} — "
                        + (f"audio stopped at {u.duration_s:.1f} s" if len(u.audio) else "no audio"))
            else:
                text = theme.STATUS[status].badge if status in theme.STATUS else status
        self.result.set_badge(status, text)

    def show_error(self, message: str, cause: str = "request", action: str | None = None) -> None:
        """An inline error; `cause` says what makes it go away (a new request, new settings,
        a model that loads); `action` the button beside it that helps ("settings", "retry")."""
        log.warning("shown to user: %s", message)
        self.error_cause = cause
        self.error.show_message(message)
        self.error_action.setText(ERROR_ACTIONS.get(action, ""))
        self.error_action.setProperty("action", action or "")
        if action in ERROR_ACTIONS:
            self.error_action.setAccessibleName(ERROR_ACTIONS[action])   # what a screen reader says
        self.error_action.setVisible(action in ERROR_ACTIONS)
        self.show_status(message, 8000)

    def clear_error(self, *causes: str) -> None:
        if not causes or self.error_cause in causes:
            self.error.hide()
            self.error_action.hide()
            self.error_cause = None

    def _error_action_clicked(self) -> None:
        if self.error_action.property("action") == "settings":
            self.open_settings()
        elif self.error_action.property("action") == "retry" and self._last_request is not None \
                and not self.request.active:
            self.clear_error()
            self.task = asyncio.ensure_future(self._translate(*self._last_request))

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
        elif phase == "failed":
            self._settle_failed()
        elif phase == "stopped":
            self.set_badge("stopped", {"connecting": "Stopped before connecting",
                                       "streaming": "Stopped — answer incomplete",
                                       "verifying": "Stopped — not checked",
                                       "repairing": "Stopped — not repaired"}.get(self.stopped_stage or "",
                                                                                   "Stopped"))

    def _settle_failed(self) -> None:
        """A failed request: the answer shown keeps its own badge and stays playable (a
        failure before any answer arrived is not that answer's); with none, say what failed."""
        u = self.utterance
        if u is None:
            self.set_badge("failed", "Not connected" if self.error_cause == "connection" else "Failed")
            return
        self.set_badge(u.status)
        self.player_bar.set_enabled(len(u.audio) > 0)

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
        self._last_request = (text, source, target, metadata)
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
            self.set_connection("not connected")
            self.show_error(f"Translation failed: {exc}", cause="request", action="retry")
            self.request.advance("failed")
        else:
            if self.client is not None and self.client.connected:
                self.set_connection("connected")     # the client reconnected after a drop
            self.request.advance("done")
            if u is self.utterance:
                self.set_badge(u.status)
            if u.state == "complete" and self.error_cause in ERROR_CAUSES_OF_A_REQUEST and \
                    not u.meta.get("unverified", "").startswith("Could not"):
                self.clear_error()
            return u
        return None

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
        if self.utterance is None and self.badge.property("status") == "failed":
            self.set_badge("idle")      # "Not connected" was about the old settings
        if new.verifier_model != old.verifier_model:
            self.reload_verifier()
        self.drop_connection()
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
