"""The transcript, with the word being heard highlighted and mismatches marked.

Thin: which word is heard comes from app.core.timing.HighlightTracker, what is wrong
from the verifier's Report. This widget only paints character ranges.
Styles differ per status so colour is never the only cue: words not spoken are struck
through, words in another language get a wavy underline, other words a dashed one.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QToolTip

from app.core.report import Report, SegmentResult, describe_segment
from app.core.timing import HighlightTracker, WordTime
from app.text.segments import Span, split_sentences, split_words
from app.ui import theme

ZOOM_STEPS = range(-4, 9)     # the zoom steps the view accepts, ZOOM_STEP_PT points each
ZOOM_STEP_PT = 1.5


class TranscriptView(QTextEdit):
    word_clicked = Signal(int, float)   # word index, its start time (s)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAcceptRichText(False)
        self.setUndoRedoEnabled(False)
        self.setObjectName("transcript")
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        font = self.font()
        font.setPointSizeF(max(13.0, font.pointSizeF() * 1.35))
        self.setFont(font)
        self._base_point_size = font.pointSizeF()
        self._zoom = 0
        self.setPlaceholderText("The translation appears here, word by word as it is spoken.")
        self.tracker = HighlightTracker()
        self._text = ""
        self._words: list[Span] = []
        self._segments: list[Span] = []
        self.report: Report | None = None
        self._highlight_index = -1

    # --- zoom ------------------------------------------------------------------------
    @property
    def zoom(self) -> int:
        return self._zoom

    def set_zoom(self, step: int) -> int:
        """Text size `step` points×1.5 from the usual; clamped to ZOOM_STEPS. Returns the step set."""
        step = min(max(int(step), ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        self._zoom = step
        font = self.font()
        font.setPointSizeF(self._base_point_size + step * ZOOM_STEP_PT)
        self.setFont(font)
        return step

    # --- content ---------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self._text

    @property
    def highlight_index(self) -> int:
        return self._highlight_index

    def clear_all(self) -> None:
        self._text = ""
        self._words, self._segments = [], []
        self.report = None
        self.tracker = HighlightTracker()
        self._highlight_index = -1
        self.setPlainText("")
        self.setExtraSelections([])

    def set_text(self, text: str) -> None:
        """Replace the transcript (also used for each streamed delta: cheap, keeps flags)."""
        if text == self._text:
            return
        appended = text.startswith(self._text) and self.report is None
        old_len = len(self._text)
        self._text = text
        self._words = split_words(text)
        self._segments = split_sentences(text)
        if appended and old_len:
            cursor = QTextCursor(self.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text[old_len:], QTextCharFormat())
        else:
            self._reset_text()
            self._apply_report_formats()
        self._refresh_highlight()

    def set_word_times(self, times: list[WordTime]) -> None:
        self.tracker.set_times(times)

    def _reset_text(self) -> None:
        # setPlainText would reuse the cursor's format (a flag's red background) for the
        # whole text; start from a blank format so only current flags are drawn
        self.setCurrentCharFormat(QTextCharFormat())
        self.setPlainText(self._text)
        cursor = QTextCursor(self.document())
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.setCharFormat(QTextCharFormat())

    def set_report(self, report: Report | None) -> None:
        self.report = report
        self._reset_text()
        self._apply_report_formats()
        self._refresh_highlight()

    def words(self) -> list[Span]:
        return list(self._words)

    # --- playback --------------------------------------------------------------------
    def set_position(self, seconds: float) -> None:
        index = self.tracker.update(seconds)
        if index != self._highlight_index:
            self._highlight_index = index
            self._refresh_highlight()

    def reset_position(self) -> None:
        """After a seek or replay the highlight may move backwards."""
        self.tracker.reset()
        self._highlight_index = -1
        self._refresh_highlight()

    # --- painting --------------------------------------------------------------------
    def _range_cursor(self, start: int, end: int) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(min(end, len(self._text)), QTextCursor.MoveMode.KeepAnchor)
        return cursor

    def _apply_report_formats(self) -> None:
        if self.report is None:
            return
        doubtful = []
        for seg in self.report.segments:
            if not seg.differs:
                continue
            if seg.doubtful:
                doubtful.append((seg.char_start, seg.char_end))
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(theme.DOUBT_BACKGROUND if seg.doubtful else theme.FLAG_BACKGROUND))
            fmt.setToolTip(describe_segment(seg, self.report))
            self._range_cursor(seg.char_start, seg.char_end).mergeCharFormat(fmt)
        for word in self.report.words:
            if word.status == "ok":
                continue
            # amber inside a sentence that only may differ: red is kept for what surely differs
            colour = QColor(theme.DOUBT_TEXT if any(a <= word.char_start < b for a, b in doubtful)
                            else theme.FLAG_TEXT)
            fmt = QTextCharFormat()
            fmt.setForeground(colour)
            if word.status == "missing":
                fmt.setFontStrikeOut(True)
            elif word.status == "drifted":
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                fmt.setUnderlineColor(colour)
                fmt.setFontItalic(True)
            else:
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DashUnderline)
                fmt.setUnderlineColor(colour)
            self._range_cursor(word.char_start, word.char_end).mergeCharFormat(fmt)

    def _refresh_highlight(self) -> None:
        selections = []
        i = self._highlight_index
        if 0 <= i < len(self._words):
            w = self._words[i]
            sel = QTextEdit.ExtraSelection()
            sel.cursor = self._range_cursor(w.start, w.end)
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(theme.HIGHLIGHT_BACKGROUND))
            fmt.setForeground(QColor(theme.HIGHLIGHT_TEXT))
            fmt.setFontWeight(QFont.Weight.DemiBold)
            sel.format = fmt
            selections.append(sel)
            self.setTextCursor(self._range_cursor(w.start, w.start))
            self.ensureCursorVisible()
        self.setExtraSelections(selections)

    # --- interaction -----------------------------------------------------------------
    def _word_index_at(self, pos) -> int:
        offset = self.cursorForPosition(pos).position()
        for i, w in enumerate(self._words):
            if w.start <= offset <= w.end:
                return i
        return -1

    def segment_at_offset(self, offset: int) -> SegmentResult | None:
        if self.report is None:
            return None
        for seg in self.report.segments:
            if seg.char_start <= offset <= seg.char_end:
                return seg
        return None

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton or self.textCursor().hasSelection():
            return
        i = self._word_index_at(event.position().toPoint())
        if i < 0:
            return
        times = self.tracker.times
        t = times[i] if i < len(times) else None
        if t is None:  # a word never spoken: seek to the nearest spoken word before it
            earlier = [tt for tt in times[:i] if tt is not None]
            t = earlier[-1] if earlier else (0.0, 0.0)
        self.word_clicked.emit(i, float(t[0]))

    def keyPressEvent(self, event) -> None:
        # a read-only text box pages down on Space; here Space is the window's play/pause
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            event.ignore()
            return
        super().keyPressEvent(event)

    def viewportEvent(self, e: QEvent) -> bool:
        # tool tips of a scroll area arrive at its viewport
        if e.type() == QEvent.Type.ToolTip and self.report is not None:
            seg = self.segment_at_offset(self.cursorForPosition(e.pos()).position())
            if seg is not None and seg.differs:
                QToolTip.showText(e.globalPos(), describe_segment(seg, self.report), self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(e)
