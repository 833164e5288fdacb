"""Showing an answer, its report and its repair; opening one from history.

A part of MainWindow (app/ui/main_window.py); it reads and sets the window's attributes.
"""

from __future__ import annotations

import asyncio
import logging

from app.core.timing import estimate_word_times
from app.core.utterance import Utterance

log = logging.getLogger(__name__)


class AnswerDisplay:
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
        self.result.show_flags(report, repaired_from=u.original_report if u.status == "repaired" else None)
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
        # an error about an earlier request does not belong over this entry
        self.clear_error("input", "request", "connection")
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
