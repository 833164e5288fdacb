"""Small widgets of the main window: language pickers, phrase box, banners, player bar."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QStatusBar,
    QStyle,
    QToolButton,
    QWidget,
)

from app.core.languages import LANGUAGES
from app.ui import theme


class LanguagePicker(QComboBox):
    def __init__(self, allow_auto: bool, parent=None) -> None:
        super().__init__(parent)
        if allow_auto:
            self.addItem("Detect language", "auto")
        for lang in LANGUAGES.values():
            label = lang.name if lang.native == lang.name else f"{lang.name} — {lang.native}"
            self.addItem(label, lang.code)
        self.setMinimumContentsLength(14)

    def code(self) -> str:
        return self.currentData()

    def set_code(self, code: str) -> None:
        i = self.findData(code)
        if i >= 0:
            self.setCurrentIndex(i)


class LanguageBar(QWidget):
    """From [source] ⇄ to [target] … Settings: the row above the phrase box."""

    languages_changed = Signal()
    swap_requested = Signal()
    settings_requested = Signal()

    def __init__(self, source: str, target: str, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.source = LanguagePicker(allow_auto=True, parent=self)
        self.target = LanguagePicker(allow_auto=False, parent=self)
        self.source.set_code(source)
        self.target.set_code(target)
        self.swap = QToolButton(self)
        self.swap.setText("⇄")
        self.swap.setToolTip("Swap the languages (and the phrase with the answer shown)")
        self.swap.clicked.connect(self.swap_requested.emit)
        self.source.currentIndexChanged.connect(lambda _i: self.languages_changed.emit())
        self.target.currentIndexChanged.connect(lambda _i: self.languages_changed.emit())
        self.settings_button = QPushButton("Settings…", self)
        self.settings_button.setToolTip("Provider, API key, voice, repair (Ctrl+,)")
        self.settings_button.clicked.connect(self.settings_requested.emit)
        for w in (QLabel("From", self), self.source, self.swap, QLabel("to", self), self.target):
            lay.addWidget(w)
        lay.addStretch(1)
        lay.addWidget(self.settings_button)

    def swap_codes(self, source: str, target: str) -> None:
        """Set both pickers and say `languages_changed` once."""
        for picker, code in ((self.source, source), (self.target, target)):
            picker.blockSignals(True)
            picker.set_code(code)
            picker.blockSignals(False)
        self.languages_changed.emit()


class PhraseEdit(QPlainTextEdit):
    """Where the user types; Ctrl+Enter (Cmd+Enter on macOS) asks for a translation."""

    submitted = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Type a phrase to translate…  (Ctrl+Enter)")
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event) -> None:
        # handled here rather than with a QShortcut: works whether or not the window is active
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            event.accept()
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class PhraseTools(QWidget):
    """Under the phrase box: listen to it, clear it, and how many characters of the limit it uses."""

    def __init__(self, limit: int, parent=None) -> None:
        super().__init__(parent)
        self.limit = limit
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.listen_button = QToolButton(self)
        self.listen_button.setText("Listen")
        self.listen_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaVolume))
        self.listen_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.listen_button.setToolTip("Listen to the phrase, read by an offline voice (Ctrl+Shift+S)")
        self.clear_button = QToolButton(self)
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear the phrase and the answer shown (Ctrl+Shift+Backspace)")
        self.count = QLabel(self)
        self.count.setObjectName("charCount")
        lay.addWidget(self.listen_button)
        lay.addWidget(self.clear_button)
        lay.addStretch(1)
        lay.addWidget(self.count)
        self.set_count(0)

    def set_count(self, n: int) -> None:
        over = n > self.limit
        self.count.setText(f"{n:,} / {self.limit:,}")
        self.count.setProperty("over", over)
        self.count.setStyleSheet(f"color: {theme.FLAG_TEXT}; font-weight: 600;" if over else f"color: {theme.MUTED};")
        self.count.setToolTip(f"Too long: Verbatim translates up to {self.limit:,} characters at a time."
                              if over else f"Up to {self.limit:,} characters at a time.")


class Banner(QLabel):
    """An inline message (error or notice) that stays until dismissed or replaced."""

    def __init__(self, kind: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(kind)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_message(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))

    def mousePressEvent(self, event) -> None:  # click to dismiss
        if event.button() == Qt.MouseButton.RightButton:
            self.hide()
        super().mousePressEvent(event)


def elide_status(bar: QStatusBar, message: str) -> str:
    """`message` cut with "…" to the room left of the status bar's permanent labels."""
    text = " ".join(message.split())
    edges = [w.geometry().left() for w in bar.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
             if w.isVisible() and w.geometry().left() > 0]
    room = (min(edges) if edges else bar.width()) - 16   # the bar's own margins
    return bar.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(40, room))


def fmt_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class PlayerBar(QWidget):
    """Play/pause, replay, a seekable progress bar and the time."""

    play_toggled = Signal()
    replay = Signal()
    seek = Signal(float)
    source_toggled = Signal(bool)   # True: original audio, False: repaired

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.play_button = QToolButton(self)
        self.play_button.setToolTip("Play / pause (Space when not typing, or Ctrl+P)")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.clicked.connect(self.play_toggled.emit)
        self.replay_button = QToolButton(self)
        self.replay_button.setToolTip("Replay from the start (Ctrl+R)")
        self.replay_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaSkipBackward))
        self.replay_button.clicked.connect(self.replay.emit)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Drag to seek")
        self.slider.sliderReleased.connect(lambda: self.seek.emit(self.slider.value() / 1000.0))
        self.slider.sliderMoved.connect(lambda v: self.time_label.setText(
            f"{fmt_time(v / 1000)} / {fmt_time(self.slider.maximum() / 1000)}"))
        self._shown_label = "0:00.0 / 0:00.0"
        self._shown_playing = False
        self.time_label = QLabel(self._shown_label, self)
        self.time_label.setMinimumWidth(110)
        self.compare_button = QPushButton("Hear original", self)
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip("Switch between the repaired audio and the audio first received")
        self.compare_button.toggled.connect(self.source_toggled.emit)
        self.compare_button.hide()
        for w in (self.play_button, self.replay_button):
            lay.addWidget(w)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.time_label)
        lay.addWidget(self.compare_button)
        self.set_enabled(False)

    def set_enabled(self, on: bool) -> None:
        for w in (self.play_button, self.replay_button, self.slider):
            w.setEnabled(on)

    # Called on every refresh tick: only touch Qt when what is shown changes (each Qt call
    # costs a trip through the binding, and some bindings leaked a reference per call).
    def set_playing(self, playing: bool) -> None:
        if playing == self._shown_playing:
            return
        self._shown_playing = playing
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def set_progress(self, position: float, duration: float) -> None:
        if self.slider.isSliderDown():
            return
        total_ms = int(duration * 1000)
        pos_ms = int(min(position, duration) * 1000)
        label = f"{fmt_time(position)} / {fmt_time(duration)}"
        if total_ms != self.slider.maximum():
            self.slider.setRange(0, total_ms)
        if pos_ms != self.slider.value():
            self.slider.setValue(pos_ms)
        if label != self._shown_label:
            self._shown_label = label
            self.time_label.setText(label)
