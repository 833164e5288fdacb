"""The first-run hint: what works offline, and how to add a key.

Shown in the window on the first launch when no API key is stored; remembered in QSettings
so it appears once. "Open Settings…" goes straight to the provider fields (where Test
connection is); "Got it" or ✕ dismisses it; adding a key hides it too.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout

SHOWN_KEY = "ui/first_run_hint_shown"


def hint_text(translates: bool) -> str:
    what = ("translates between the languages whose offline translator is installed, and reads the "
            "rest back aloud" if translates else
            "reads your phrase back aloud in its own language (no offline translator is installed, "
            "so it does not translate)")
    return ("<b>Welcome to Verbatim.</b> Without an API key everything runs offline on this computer: "
            f"the built-in engine {what}, then Verbatim checks that the audio says every word, flags "
            "what it missed in red and repairs it.<br>"
            "To translate with OpenAI or Azure OpenAI, add your key in <b>Settings ▸ Translation "
            "service</b> and press <b>Test connection</b>.")


class FirstRunHint(QFrame):
    settings_requested = Signal()
    dismissed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunHint")
        self.setAccessibleName("First-run hint")
        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 8, 6, 8)
        body = QVBoxLayout()
        self.label = QLabel(hint_text(False), self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.label)
        row = QHBoxLayout()
        self.settings_button = QPushButton("Open Settings…", self)
        self.settings_button.setAccessibleName("Open Settings to add an API key")
        self.settings_button.clicked.connect(self.settings_requested.emit)
        self.ok_button = QPushButton("Got it", self)
        self.ok_button.setAccessibleName("Dismiss the first-run hint")
        self.ok_button.clicked.connect(self.dismiss)
        row.addWidget(self.settings_button)
        row.addWidget(self.ok_button)
        row.addStretch(1)
        body.addLayout(row)
        outer.addLayout(body, 1)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss the first-run hint")
        self.close_button.clicked.connect(self.dismiss)
        outer.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def set_translates(self, translates: bool) -> None:
        self.label.setText(hint_text(translates))
        self.setAccessibleDescription(self.label.text().replace("<br>", " "))

    def show_if_first_run(self, qsettings: QSettings, has_key: bool, translates: bool = False) -> bool:
        """Show the hint once: on the first launch with no key. Returns whether it is shown."""
        if has_key or _truthy(qsettings.value(SHOWN_KEY, False)):
            self.hide()
            return False
        self.set_translates(translates)
        qsettings.setValue(SHOWN_KEY, True)    # once: the next launch starts without it
        qsettings.sync()
        self.show()
        return True

    def dismiss(self) -> None:
        if self.isVisible():
            self.hide()
            self.dismissed.emit()


def _truthy(value) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")
