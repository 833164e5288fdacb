"""Playing the answer: play/pause, replay, seek, compare with the original, the refresh tick.

A part of MainWindow (app/ui/main_window.py); it reads and sets the window's attributes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.core.timing import estimate_word_times


class PlaybackControls:
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
        if original and report is not None:
            # what plays is the original: its flags, its reasons and a badge that says so
            self.transcript.set_report(report)
            self.transcript.set_word_times([(w.start_s, w.end_s) if w.start_s is not None else None
                                            for w in report.words])
            self.result.show_flags(report)
            n, total = len(report.flagged_segments), len(report.segments)
            self.set_badge("mismatch" if n else "match",
                           f"Original — audio differs: {n} of {total} sentence{'s' if total != 1 else ''}"
                           if n else "Original — audio matches")
        elif not original and u.report is not None:
            self.apply_report(u)
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
