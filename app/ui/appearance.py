"""Light or dark: follow the system's colour scheme, or the user's choice in Settings.

`Appearance` listens to `QStyleHints.colorSchemeChanged` (Qt 6.5+) and, when the scheme in
effect changes, makes the matching app.ui.theme palette current, gives the application a
palette of the same colours and re-applies the style sheet, then emits `changed` so views
that paint with theme colours (the transcript's flags and highlight) repaint.
When the platform cannot say (Unknown), the platform's own palette decides.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.core.settings import APPEARANCES
from app.ui import theme

log = logging.getLogger(__name__)


def palette_for(c: theme.Colors) -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    disabled = QPalette.ColorGroup.Disabled
    button = c.window if c.scheme == "light" else "#3a3c42"
    for r, value in ((role.Window, c.window), (role.WindowText, c.text), (role.Base, c.base),
                     (role.AlternateBase, c.window), (role.Text, c.text), (role.Button, button),
                     (role.ButtonText, c.text), (role.ToolTipBase, c.base), (role.ToolTipText, c.text),
                     (role.PlaceholderText, c.muted), (role.Highlight, c.selection),
                     (role.HighlightedText, "#ffffff"), (role.Link, c.selection), (role.BrightText, "#ffffff")):
        pal.setColor(r, QColor(value))
    dim = "#8a8d91" if c.scheme == "light" else "#6f7378"
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(disabled, r, QColor(dim))
    if c.scheme == "dark":
        pal.setColor(role.Light, QColor("#4a4d54"))
        pal.setColor(role.Midlight, QColor("#3a3c42"))
        pal.setColor(role.Mid, QColor("#2a2c30"))
        pal.setColor(role.Dark, QColor("#151618"))
        pal.setColor(role.Shadow, QColor("#000000"))
    return pal


def is_dark(pal: QPalette) -> bool:
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


class Appearance(QObject):
    changed = Signal(object)   # the theme.Colors now in use

    def __init__(self, app: QApplication, choice: str = "system") -> None:
        super().__init__(app)
        self.app = app
        self.choice = choice if choice in APPEARANCES else "system"
        self._platform_palette = QPalette(app.palette())
        self._platform_style = app.style().name()
        self._system = app.styleHints().colorScheme()
        self._forced = False
        self._applying = False
        app.styleHints().colorSchemeChanged.connect(self._system_changed)
        self.apply()

    # --- which scheme ----------------------------------------------------------------------
    @property
    def system_scheme(self) -> str:
        """What the system asks for: "light", "dark", or "" when the platform cannot say."""
        return {Qt.ColorScheme.Dark: "dark", Qt.ColorScheme.Light: "light"}.get(self._system, "")

    def scheme(self) -> str:
        if self.choice in ("light", "dark"):
            return self.choice
        if self.system_scheme:
            return self.system_scheme
        return "dark" if is_dark(self._platform_palette) else "light"

    def set_choice(self, choice: str) -> None:
        choice = choice if choice in APPEARANCES else "system"
        if choice != self.choice:
            self.choice = choice
            self.apply()

    def _system_changed(self, scheme) -> None:
        self._system = scheme
        log.info("system colour scheme is now %s", self.system_scheme or "unknown")
        self.apply()

    # --- applying it ----------------------------------------------------------------------
    def apply(self) -> None:
        if self._applying:     # asking the platform may report the new scheme at once
            return
        self._applying = True
        try:
            self._ask_platform()
            self._apply(self.scheme())
        finally:
            self._applying = False
        self.changed.emit(theme.colors())

    def _apply(self, want: str) -> None:
        old_sheet = theme.STYLE_SHEET
        theme.set_colors(theme.DARK if want == "dark" else theme.LIGHT)
        if self._forced or self.choice != "system" or self.system_scheme:
            self._force_palette(theme.colors())
        # else: the platform's own palette is the one the colours were chosen from
        for w in self.app.topLevelWidgets():
            if w.styleSheet() == old_sheet:       # windows styled with the theme's sheet follow it
                w.setStyleSheet(theme.STYLE_SHEET)

    def _ask_platform(self) -> None:
        # Qt 6.8+: the platform switches native parts (title bar, dialogs) where it can
        hints = self.app.styleHints()
        try:
            if self.choice == "system":
                hints.unsetColorScheme()
            else:
                hints.setColorScheme(Qt.ColorScheme.Dark if self.choice == "dark" else Qt.ColorScheme.Light)
        except AttributeError:
            pass

    def _force_palette(self, c: theme.Colors) -> None:
        # Our own palette on Fusion: native styles (macOS, Windows Vista) ignore custom palettes
        if self.app.style().name().lower() != "fusion":
            self.app.setStyle("Fusion")
        self.app.setPalette(palette_for(c))
        self._forced = True


_installed: Appearance | None = None


def install(app: QApplication | None = None, choice: str = "system") -> Appearance:
    """The one Appearance of the application (made on first call; later calls set the choice)."""
    global _installed
    app = app or QApplication.instance()
    if _installed is None or _installed.app is not app:
        _installed = Appearance(app, choice)
    else:
        _installed.set_choice(choice)
    return _installed


def reset() -> None:
    """Stop following the system and give the application back the palette and style it had
    before (tests; an embedding app that manages its own look)."""
    global _installed
    look, _installed = _installed, None
    if look is None:
        return
    look.app.styleHints().colorSchemeChanged.disconnect(look._system_changed)
    if look._forced:
        look.app.setStyle(look._platform_style)
        look.app.setPalette(look._platform_palette)
    theme.set_colors(theme.LIGHT)
    look.deleteLater()


def current() -> Appearance | None:
    app = QGuiApplication.instance()
    return _installed if _installed is not None and _installed.app is app else None
