"""The main window: type, hear, see each word as it is spoken, see what the audio missed.

Thin over app.pipeline (the flow) and app.audio.player (the clock): this file wires
signals, shows state, and turns every failure into a message in the window.
"""

from __future__ import annotations

import asyncio
import queue
import logging

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QPushButton, QSplitter, QStatusBar, QToolButton, QVBoxLayout, QWidget)

from app import APP_NAME
from app.audio.player import Player, open_output
from app.core.secrets import SecretStore
from app.core.settings import Settings
from app.core.timing import estimate_word_times
from app.core.utterance import Utterance
from app.pipeline import InputError, Listener, Pipeline, check_input
from app.pipeline.services import Services
from app.ui import theme
from app.ui.qt_settings import load_settings, save_settings
from app.ui.transcript_view import TranscriptView
from app.ui.widgets import Banner, LanguagePicker, PhraseEdit, PlayerBar
from app.verify.report import describe_segment

log = logging.getLogger(__name__)
POLL_MS = 30   # ≥ 30 Hz highlight updates from the player clock


class _WindowListener(Listener):
    """Pipeline progress -> window (runs on the Qt thread: qasync's loop is Qt's)."""

    def __init__(self, window: "MainWindow") -> None:
        self.w = window

    def on_started(self, u):
        self.w.show_utterance(u, live=True)

    def on_transcript(self, u):
        if u is self.w.utterance:
            self.w.transcript.set_text(u.transcript)
            self.w.transcript.set_word_times(estimate_word_times(u.transcript))

    def on_audio(self, u, pcm):
        if u is self.w.utterance:
            self.w.player_bar.set_enabled(True)

    def on_done(self, u):
        if u is self.w.utterance:
            self.w.transcript.set_text(u.transcript)
            if u.report is None:
                self.w.transcript.set_word_times(estimate_word_times(u.transcript, u.duration_s or None))
            self.w.set_badge(u.status if u.state != "complete" else "verifying")
            self.w.set_busy(False)

    def on_verifying(self, u):
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
        if u is self.w.utterance:
            self.w.set_badge("repairing", message)

    def on_saved(self, u):
        self.w.history_changed(u)

    def on_error(self, u, message):
        self.w.show_error(message)


class MainWindow(QMainWindow):
    # from the verifier's loading thread; queued onto the Qt thread
    model_progress = Signal(int, int)
    model_loaded = Signal(str)

    def __init__(self, services: Services | None = None, player: Player | None = None,
                 qsettings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.qsettings = qsettings or QSettings()
        self.settings: Settings = load_settings(self.qsettings)
        self.services = services or Services(self.settings, SecretStore())
        self.player = player or Player(open_output(self.settings.audio_device))
        self.client = None
        self.pipeline: Pipeline | None = None
        self.utterance: Utterance | None = None
        self.task: asyncio.Task | None = None
        self._build()
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._tick)
        self._poll.start()
        self.refresh_status()
        self._model_events: queue.SimpleQueue = queue.SimpleQueue()
        self.model_progress.connect(self._show_model_progress)
        self.model_loaded.connect(self._model_loaded)
        QTimer.singleShot(0, self.warm_verifier)

    # --- verifier model: load in the background, with a progress bar -----------------------
    def warm_verifier(self) -> None:
        """Load the speech model now (assembling or downloading a user-chosen one first), so
        the first answer is checked without waiting; the status bar shows the progress."""
        from PySide6.QtWidgets import QProgressBar

        try:
            worker = self.services.verifier()
        except Exception as exc:
            self._model_loaded(f"error:{exc}")
            return
        if not hasattr(worker, "warm"):
            return
        if not hasattr(self, "model_bar"):
            self.model_bar = QProgressBar(self)
            self.model_bar.setMaximumWidth(160)
            self.model_bar.setFormat("model %p%")
            self.statusBar().addPermanentWidget(self.model_bar)
        self.model_bar.hide()
        self.verifier_label.setText("Verifier: loading…")
        # The loading thread only posts to a queue; the poll timer (Qt thread) reads it. A signal
        # emitted from that thread at a window already deleted would crash the process.
        events = self._model_events
        worker.verifier._progress = lambda done, total: events.put(("progress", int(done // 1024),
                                                                     int(max(total, 1) // 1024)))
        future = worker.warm()
        future.add_done_callback(
            lambda f: events.put(("loaded", "ok" if f.exception() is None else f"error:{f.exception()}")))

    def _drain_model_events(self) -> None:
        while True:
            try:
                kind, *args = self._model_events.get_nowait()
            except queue.Empty:
                return
            if kind == "progress":
                self.model_progress.emit(*args)
            else:
                self.model_loaded.emit(*args)

    def _show_model_progress(self, done_kb: int, total_kb: int) -> None:
        self.model_bar.show()
        self.model_bar.setRange(0, max(1, total_kb))
        self.model_bar.setValue(min(done_kb, total_kb))

    def _model_loaded(self, result: str) -> None:
        if hasattr(self, "model_bar"):
            self.model_bar.hide()
        if result == "ok":
            self.verifier_label.setText("Verifier: ready")
        else:
            self.verifier_label.setText("Verifier: unavailable")
            self.show_error("The verifier's speech model could not be loaded, so mismatches will not be "
                            f"flagged: {result.removeprefix('error:')}")

    # --- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.setStyleSheet(theme.STYLE_SHEET)
        central = QWidget(self)
        outer = QVBoxLayout(central)

        langs = QHBoxLayout()
        self.source = LanguagePicker(allow_auto=True, parent=self)
        self.target = LanguagePicker(allow_auto=False, parent=self)
        self.source.set_code(self.settings.source_language)
        self.target.set_code(self.settings.target_language)
        self.swap = QToolButton(self)
        self.swap.setText("⇄")
        self.swap.setToolTip("Swap languages")
        self.swap.clicked.connect(self.swap_languages)
        self.source.currentIndexChanged.connect(self._languages_changed)
        self.target.currentIndexChanged.connect(self._languages_changed)
        self.settings_button = QPushButton("Settings…", self)
        self.settings_button.clicked.connect(self.open_settings)
        for w in (QLabel("From", self), self.source, self.swap, QLabel("to", self), self.target):
            langs.addWidget(w)
        langs.addStretch(1)
        langs.addWidget(self.settings_button)
        outer.addLayout(langs)

        self.phrase = PhraseEdit(self)
        self.phrase.setMaximumHeight(110)
        self.phrase.submitted.connect(self.translate_clicked)
        outer.addWidget(self.phrase)
        row = QHBoxLayout()
        self.notice = Banner("notice", self)
        row.addWidget(self.notice, 1)
        self.translate_button = QPushButton("Translate", self)
        self.translate_button.setObjectName("primary")
        self.translate_button.setToolTip("Translate and speak (Ctrl+Enter)")
        self.translate_button.clicked.connect(self.translate_clicked)
        row.addWidget(self.translate_button, 0, Qt.AlignmentFlag.AlignRight)
        outer.addLayout(row)

        self.error = Banner("error", self)
        outer.addWidget(self.error)

        head = QHBoxLayout()
        title = QLabel("<b>Translation</b>", self)
        self.badge = QLabel("", self)
        self.badge.setObjectName("badge")
        head.addWidget(title)
        head.addWidget(self.badge)
        head.addStretch(1)
        outer.addLayout(head)

        self.transcript = TranscriptView(self)
        self.transcript.word_clicked.connect(lambda _i, t: self.seek(t))
        outer.addWidget(self.transcript, 3)

        self.flags = QListWidget(self)
        self.flags.setObjectName("flags")
        self.flags.setMaximumHeight(96)
        self.flags.itemActivated.connect(self._flag_activated)
        self.flags.itemClicked.connect(self._flag_activated)
        self.flags.hide()
        outer.addWidget(self.flags)
        self.legend = QLabel(
            f"<span style='color:{theme.FLAG_TEXT}'>✂ <s>not spoken</s> &nbsp; "
            f"⇆ <u>wrong language</u> (wavy) &nbsp; ≠ spoken differently (dashed)</span>", self)
        self.legend.hide()
        outer.addWidget(self.legend)

        self.player_bar = PlayerBar(self)
        self.player_bar.play_toggled.connect(self.toggle_play)
        self.player_bar.replay.connect(self.replay)
        self.player_bar.seek.connect(self.seek)
        self.player_bar.source_toggled.connect(self._compare_toggled)
        outer.addWidget(self.player_bar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(central)
        self.history_panel = self._make_history_panel()
        if self.history_panel is not None:
            self.splitter.addWidget(self.history_panel)
            self.splitter.setStretchFactor(0, 3)
            self.splitter.setStretchFactor(1, 2)
        self.setCentralWidget(self.splitter)

        bar = QStatusBar(self)
        self.engine_label = QLabel(self)
        self.connection_label = QLabel("not connected", self)
        self.audio_label = QLabel(self)
        self.verifier_label = QLabel(self)
        for w in (self.engine_label, self.connection_label, self.audio_label, self.verifier_label):
            bar.addPermanentWidget(w)
        self.setStatusBar(bar)

        QShortcut(QKeySequence("Ctrl+P"), self, activated=self.toggle_play)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.replay)
        QShortcut(QKeySequence("Ctrl+L"), self, activated=self.phrase.setFocus)
        quit_action = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        self.addAction(quit_action)
        self.resize(1100, 680)

    def _make_history_panel(self):
        try:
            from app.ui.history_panel import HistoryPanel

            panel = HistoryPanel(self.services.store(), parent=self)
        except Exception as exc:  # a broken history must not keep the app from starting
            log.exception("history unavailable")
            self.history_error = str(exc)
            return None
        panel.utterance_selected.connect(self.open_from_history)
        if hasattr(panel, "replay_requested"):
            panel.replay_requested.connect(lambda uid: (self.open_from_history(uid), self.replay()))
        return panel

    # --- status ------------------------------------------------------------------------
    def refresh_status(self) -> None:
        st = self.services.status()
        self.engine_label.setText(f"Engine: {st.label}")
        self.notice.show_message(st.notice)
        out = self.player.output
        self.audio_label.setText(f"Audio: {out.name}" if out.available else "Audio: silent")
        self.audio_label.setToolTip(out.reason or out.name)
        if not out.available:
            self.audio_label.setText("Audio output unavailable — silent playback")

    def set_connection(self, text: str) -> None:
        self.connection_label.setText(text)

    def set_badge(self, status: str, text: str | None = None) -> None:
        u = self.utterance
        if text is None:
            if status == "mismatch" and u is not None and u.report is not None:
                n, total = len(u.report.flagged_segments), len(u.report.segments)
                text = f"Audio differs: {n} of {total} sentence{'s' if total != 1 else ''}"
            else:
                text = {"streaming": "Receiving…", "verifying": "Verifying…", "unverified": "Not verified",
                        "match": "Audio matches the transcript", "repaired": "Repaired — audio matches",
                        "incomplete": "Incomplete answer", "failed": "Failed", "idle": ""}.get(status, status)
        glyph = theme.GLYPH.get(status, "")
        self.badge.setText(f"{glyph} {text}".strip())
        self.badge.setStyleSheet(theme.BADGE_STYLE.get(status, ""))
        self.badge.setProperty("status", status)
        self.badge.setVisible(bool(text))

    def show_error(self, message: str) -> None:
        log.warning("shown to user: %s", message)
        self.error.show_message(message)
        self.statusBar().showMessage(message, 8000)

    def set_busy(self, busy: bool) -> None:
        self.translate_button.setText("Stop" if busy else "Translate")
        self.translate_button.setToolTip("Stop this answer" if busy else "Translate and speak (Ctrl+Enter)")

    # --- actions -----------------------------------------------------------------------
    def swap_languages(self) -> None:
        src, tgt = self.source.code(), self.target.code()
        if src == "auto":
            detected = self.utterance.meta.get("transcript_language") if self.utterance else None
            src = detected if detected and detected != tgt else ("es" if tgt == "en" else "en")
        self.source.set_code(tgt)
        self.target.set_code(src)

    def _languages_changed(self) -> None:
        self.settings.source_language = self.source.code()
        self.settings.target_language = self.target.code()
        save_settings(self.qsettings, self.settings)

    def translate_clicked(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            return
        try:
            text = check_input(self.phrase.toPlainText())
        except InputError as exc:
            self.show_error(str(exc))
            return
        self.error.hide()
        self.task = asyncio.ensure_future(self._translate(text, self.source.code(), self.target.code()))

    async def _translate(self, text: str, source: str, target: str, metadata=None) -> Utterance | None:
        self.set_busy(True)
        try:
            pipeline = await self._ensure_pipeline()
            if pipeline is None:
                return None
            return await pipeline.translate(text, source, target, metadata=metadata)
        except asyncio.CancelledError:
            self.statusBar().showMessage("Stopped.", 4000)
            return None
        except InputError as exc:
            self.show_error(str(exc))
        except Exception as exc:
            log.exception("translation failed")
            self.show_error(f"Translation failed: {exc}")
            self.set_connection("disconnected")
        finally:
            self.set_busy(False)
        return None

    async def _ensure_pipeline(self) -> Pipeline | None:
        if self.pipeline is not None:
            return self.pipeline
        self.set_connection("connecting…")
        try:
            # off the Qt thread: starting the local engine loads its voices (seconds)
            client = await asyncio.to_thread(self.services.make_client)
            info = await client.connect()
        except Exception as exc:
            log.exception("connect failed")
            self.set_connection("not connected")
            self.show_error(f"Could not connect to {self.services.status().label}: {exc}")
            return None
        self.client = client
        self.set_connection("connected")
        self.refresh_status()
        if getattr(info, "translation_available", True) is False:
            self.notice.show_message("local engine: no offline translator installed — reading back")
        verifier = self._verifier_or_none()
        store = self._store_or_none()
        from app.pipeline.translate import PipelineOptions
        from app.repair.repairer import Repairer, RepairOptions
        from app.repair.speech import LocalSpeech, cloud_speech_for

        s = self.settings
        speech = cloud_speech_for(client.config) or LocalSpeech()
        repairer = Repairer(RepairOptions(policy=s.repair_policy, attempts=s.repair_attempts),
                            speech=speech, ask=self._ask_repair)
        self.pipeline = Pipeline(client, verifier=verifier, store=store, player=self.player,
                                 listener=_WindowListener(self), provider=self.services.provider(),
                                 model=s.model, voice=s.voice, audio_format=s.audio_format,
                                 options=PipelineOptions(strict=s.strict_mode), repairer=repairer,
                                 speech=speech)
        return self.pipeline

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
        box.open()
        return await future

    def _verifier_or_none(self):
        try:
            v = self.services.verifier()
            self.verifier_label.setText("Verifier: ready")
            return v
        except Exception as exc:
            log.exception("verifier unavailable")
            self.verifier_label.setText("Verifier: unavailable")
            self.show_error(f"The verifier could not start, so mismatches will not be flagged: {exc}")
            return None

    def _store_or_none(self):
        try:
            return self.services.store()
        except Exception as exc:
            log.exception("history unavailable")
            self.show_error(f"History is unavailable, this answer will not be saved: {exc}")
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
        self.transcript.clear_all()
        self.transcript.set_text(u.transcript)
        self.flags.clear()
        self.flags.hide()
        self.legend.hide()
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
        self.flags.clear()
        for seg in report.flagged_segments:
            item = QListWidgetItem(f"{theme.GLYPH.get(seg.status, '!')}  Sentence {seg.index + 1} — "
                                   f"{describe_segment(seg, report)}")
            item.setData(Qt.ItemDataRole.UserRole, seg.start_s if seg.start_s is not None else report.audio_duration_s)
            item.setToolTip(seg.text)
            item.setForeground(Qt.GlobalColor.darkRed)
            self.flags.addItem(item)
        self.flags.setVisible(bool(report.flagged_segments))
        self.legend.setVisible(bool(report.flagged_segments))
        self.set_badge(u.status)

    def _flag_activated(self, item: QListWidgetItem) -> None:
        t = item.data(Qt.ItemDataRole.UserRole)
        if t is not None:
            self.seek(max(0.0, float(t) - 0.5))

    def open_from_history(self, utterance_id: str) -> None:
        try:
            u = self.services.store().get(utterance_id)
        except Exception as exc:
            self.show_error(f"Could not open that entry: {exc}")
            return
        if self.task is not None and not self.task.done():
            self.show_error("Finish or stop the current translation before opening another one.")
            return
        self.show_utterance(u)
        self.phrase.setPlainText(u.input_text)

    def history_changed(self, u: Utterance) -> None:
        panel = self.history_panel
        if panel is not None and hasattr(panel, "refresh"):
            panel.refresh()

    # --- playback ------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player.state in ("playing", "buffering"):
            self.player.pause()
        else:
            if self.player.state == "ended":
                self.transcript.reset_position()
            self.player.play()

    def replay(self) -> None:
        self.player.seek(0.0)
        self.transcript.reset_position()
        self.player.play()

    def seek(self, seconds: float) -> None:
        self.player.seek(seconds)
        self.transcript.reset_position()
        if self.player.state not in ("playing", "buffering"):
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

    def _tick(self) -> None:
        self._drain_model_events()
        pos = self.player.position_s
        self.transcript.set_position(pos)
        self.player_bar.set_progress(pos, self.player.duration_s)
        self.player_bar.set_playing(self.player.state in ("playing", "buffering"))

    # --- settings ------------------------------------------------------------------------
    def open_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.settings, self.services.secrets, parent=self)
        if dlg.exec():
            self.settings = dlg.result_settings()
            self.services.settings = self.settings
            save_settings(self.qsettings, self.settings)
            asyncio.ensure_future(self.reset_connection())

    def closeEvent(self, event) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self._poll.stop()
        try:
            self.player.close()
        finally:
            self.services.close()
        super().closeEvent(event)
