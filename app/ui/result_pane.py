"""The answer side of the main window: title, verdict badge, transcript, flagged sentences,
their legend and the player bar. It shows what it is given; the window decides what."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.report import describe_segment
from app.ui import theme
from app.ui.transcript_view import TranscriptView
from app.ui.widgets import PlayerBar

TITLE = {"translation": "Translation", "read_back": "Read back (not translated)",
         "swapped": "Your earlier phrase (not spoken — press Translate)"}


class ResultPane(QWidget):
    seek_requested = Signal(float)    # a clicked word or flagged sentence: play from there

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._legend_doubt = False      # the legend explains amber only when some sentence is amber
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.title = QLabel(self)
        self.badge = QLabel("", self)
        self.badge.setObjectName("badge")
        head.addWidget(self.title)
        head.addWidget(self.badge)
        head.addStretch(1)
        self.repair_button = QToolButton(self)
        self.repair_button.setText("Repair audio")
        self.repair_button.setToolTip("Re-voice the sentences marked red or amber until the audio "
                                      "says the transcript")
        self.repair_button.hide()
        head.addWidget(self.repair_button)
        self.copy_button = QToolButton(self)
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the translation (Ctrl+Shift+C)")
        head.addWidget(self.copy_button)
        lay.addLayout(head)
        self.set_title("translation")

        self.transcript = TranscriptView(self)
        self.transcript.word_clicked.connect(lambda _i, t: self.seek_requested.emit(float(t)))
        lay.addWidget(self.transcript, 1)

        self.flags = QListWidget(self)
        self.flags.setObjectName("flags")
        self.flags.setMaximumHeight(96)
        self.flags.itemActivated.connect(self._flag_activated)
        self.flags.itemClicked.connect(self._flag_activated)
        self.flags.hide()
        lay.addWidget(self.flags)
        self.legend = QLabel(self)
        self.legend.hide()
        lay.addWidget(self.legend)

        self.player_bar = PlayerBar(self)
        lay.addWidget(self.player_bar)
        self.restyle()

    def restyle(self) -> None:
        """Draw the badge, legend and flags in the theme's colours in use now (light/dark)."""
        self._write_legend()
        status = self.badge.property("status")
        if status:
            self.badge.setStyleSheet(theme.badge_style(status))
        for i in range(self.flags.count()):
            item = self.flags.item(i)
            kind = item.data(Qt.ItemDataRole.UserRole + 1)
            item.setForeground(QColor({"doubt": theme.DOUBT_TEXT, "repaired": theme.OK}.get(kind, theme.FLAG_TEXT)))

    def _write_legend(self) -> None:
        text = (f"<span style='color:{theme.FLAG_TEXT}'>✂ <s>not spoken</s> &nbsp; "
                f"⇆ <u>wrong language</u> (wavy) &nbsp; ≠ spoken differently (dashed)</span>")
        if self._legend_doubt:
            text += f" &nbsp; <span style='color:{theme.DOUBT_TEXT}'>? amber: may differ (unsure)</span>"
        self.legend.setText(text)

    def set_title(self, kind: str) -> None:
        self.title.setText(f"<b>{TITLE[kind]}</b>")
        self.title.setProperty("kind", kind)

    def set_badge(self, status: str, text: str) -> None:
        look = theme.look(status)
        self.badge.setText(f"{look.glyph} {text}".strip())
        self.badge.setStyleSheet(theme.badge_style(status))
        self.badge.setProperty("status", status)
        self.badge.setVisible(bool(text))

    def show_flags(self, report, repaired_from=None) -> None:
        """One row per flagged sentence (red) and per sentence that may differ (amber; click:
        hear it), and the legend when there are any. `repaired_from`: the report before a
        repair, whose differing sentences the repair fixed are listed too (green), so what was
        wrong is still said after the audio was mended."""
        self.flags.clear()
        for seg in report.differing_segments:
            glyph = theme.look(seg.status).glyph or "!"
            item = QListWidgetItem(f"{'?' if seg.doubtful else glyph}  Sentence {seg.index + 1} — "
                                   f"{describe_segment(seg, report)}")
            item.setData(Qt.ItemDataRole.UserRole, seg.start_s if seg.start_s is not None else report.audio_duration_s)
            item.setData(Qt.ItemDataRole.UserRole + 1, "doubt" if seg.doubtful else "flag")
            item.setToolTip(seg.text if seg.flagged else
                            f"{seg.text}\n\nOnly the recognizer is unsure here: listen to check. "
                            "It is not repaired on its own; use Repair audio if it is wrong.")
            item.setForeground(QColor(theme.DOUBT_TEXT if seg.doubtful else theme.FLAG_TEXT))
            self.flags.addItem(item)
        fixed = _fixed_by_repair(report, repaired_from)
        for seg in fixed:
            item = QListWidgetItem(f"↻  Sentence {seg.index + 1} — re-voiced; at first it was "
                                   f"{describe_segment(seg, repaired_from)}")
            item.setData(Qt.ItemDataRole.UserRole, _start_in(report, seg.index))
            item.setData(Qt.ItemDataRole.UserRole + 1, "repaired")
            item.setToolTip(f"{seg.text}\n\nRepaired: the audio now says this sentence (Compare plays the original).")
            item.setForeground(QColor(theme.OK))
            self.flags.addItem(item)
        rows = sum(self.flags.sizeHintForRow(i) for i in range(min(self.flags.count(), 4)))
        self.flags.setMaximumHeight(max(24, rows + 2 * self.flags.frameWidth() + 4))   # no empty band
        self.flags.setVisible(bool(report.differing_segments or fixed))
        self._legend_doubt = bool(report.doubtful_segments)
        self._write_legend()
        self.legend.setVisible(bool(report.differing_segments))

    def hide_flags(self) -> None:
        self.flags.clear()
        self.flags.hide()
        self.legend.hide()

    def _flag_activated(self, item: QListWidgetItem) -> None:
        t = item.data(Qt.ItemDataRole.UserRole)
        if t is not None:
            self.seek_requested.emit(max(0.0, float(t) - 0.5))


def _fixed_by_repair(report, before) -> list:
    """Sentences that differed before a repair and are spoken as written now."""
    if before is None:
        return []
    now = {seg.index: seg for seg in report.segments}
    return [seg for seg in before.differing_segments if seg.index in now and now[seg.index].status == "ok"]


def _start_in(report, index: int):
    seg = next((s for s in report.segments if s.index == index), None)
    return seg.start_s if seg is not None else None
