"""Light and dark: the app follows the system scheme (or the user's choice), and the red/green
flags and the highlight stay legible (WCAG AA, 4.5:1) on the background they are drawn on."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QTextCursor
from PySide6.QtWidgets import QApplication

from app.core.report import Report, SegmentResult, WordResult
from app.ui import appearance, theme
from app.ui.transcript_view import TranscriptView

AA = 4.5


@pytest.mark.parametrize("c", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_every_text_colour_is_legible_on_its_background(c):
    pairs = {
        "flag on transcript": (c.flag_text, c.base),
        "flag on flagged sentence": (c.flag_text, c.flag_background),
        "flag in legend": (c.flag_text, c.window),
        "plain text in flagged sentence": (c.text, c.flag_background),
        "amber on a sentence that may differ": (c.doubt_text, c.doubt_background),
        "amber in legend": (c.doubt_text, c.window), "amber on transcript": (c.doubt_text, c.base),
        "plain text in a sentence that may differ": (c.text, c.doubt_background),
        "highlighted word": (c.highlight_text, c.highlight_background),
        "ok on transcript": (c.ok, c.base), "ok on window": (c.ok, c.window),
        "warning on window": (c.warn, c.window), "warning on box": (c.warn, c.base),
        "muted on window": (c.muted, c.window), "muted on box": (c.muted, c.base),
        "text": (c.text, c.base), "text on window": (c.text, c.window),
        "error banner": (c.error_text, c.error_background),
        "notice banner": (c.notice_text, c.notice_background),
        "first-run hint": (c.text, c.hint_background),
    }
    low = {name: round(theme.contrast(fg, bg), 2) for name, (fg, bg) in pairs.items()
           if theme.contrast(fg, bg) < AA}
    assert not low, f"{c.scheme}: below {AA}:1 — {low}"


def test_filled_badges_keep_white_text_legible():
    for name, fill in theme.BADGE_BACKGROUND.items():
        assert theme.contrast("#ffffff", fill) >= AA, name
    for status in ("match", "mismatch", "repairing"):
        assert "color: white" in theme.badge_style(status)


def test_the_contrast_formula_matches_wcag():
    assert theme.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def flagged_view(qtbot):
    text = "It works. Now I can barely hear myself."
    seg2 = text.index("Now")
    report = Report("mismatch", "en", 1.0, segments=[
        SegmentResult(0, "It works.", 0, 9, "ok", 0.0, 0.8),
        SegmentResult(1, text[seg2:], seg2, len(text), "truncated")],
        words=[WordResult(w, text.index(w), text.index(w) + len(w), "ok" if text.index(w) < seg2 else "missing")
               for w in ("It", "works", "Now", "can", "barely", "hear", "myself")])
    view = TranscriptView()
    qtbot.addWidget(view)
    view.set_text(text)
    view.set_report(report)
    view.show()
    return view, text.index("barely")


def drawn(view, offset):
    cursor = QTextCursor(view.document())
    cursor.setPosition(offset + 1)
    fmt = cursor.charFormat()
    return fmt.foreground().color().name(), fmt.background().color().name(), \
        view.viewport().palette().color(QPalette.ColorRole.Base).name()


def test_the_window_follows_the_system_scheme_live(app_state, qtbot):
    app = app_state
    look = appearance.install(app, "system")
    seen = []
    look.changed.connect(seen.append)
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)     # the desktop switched to dark
    assert look.scheme() == "dark" and theme.colors() is theme.DARK and seen[-1] is theme.DARK
    assert app.palette().color(QPalette.ColorRole.Base).name() == theme.DARK.base
    view, at = flagged_view(qtbot)
    fg, bg, base = drawn(view, at)
    assert base == theme.DARK.base
    assert fg == theme.DARK.flag_text and bg == theme.DARK.flag_background
    assert theme.contrast(fg, bg) >= AA and theme.contrast(fg, base) >= AA

    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert theme.colors() is theme.LIGHT
    assert app.palette().color(QPalette.ColorRole.Base).name() == theme.LIGHT.base
    app.processEvents()
    view.set_report(view.report)          # what the window does on `changed`
    fg, bg, base = drawn(view, at)
    assert (fg, bg, base) == (theme.LIGHT.flag_text, theme.LIGHT.flag_background, theme.LIGHT.base)


def test_the_users_choice_overrides_the_system(app_state):
    app = app_state
    look = appearance.install(app, "dark")
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert look.scheme() == "dark" and theme.colors() is theme.DARK
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window
    appearance.install(app, "light")
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert look.scheme() == "light" and theme.colors() is theme.LIGHT
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT.window
    appearance.install(app, "system")
    assert look.scheme() == "dark"


def test_windows_styled_by_the_theme_follow_it(app_state, qtbot):
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    qtbot.addWidget(w)
    w.setStyleSheet(theme.STYLE_SHEET)
    appearance.install(QApplication.instance(), "dark")
    assert theme.DARK.error_background in w.styleSheet()


def test_a_platform_that_answers_at_once_does_not_recurse(app_state, monkeypatch):
    """Qt 6.8+ platforms report the scheme asked of them through colorSchemeChanged, possibly
    while it is being asked: one switch, one `changed`."""
    app = app_state
    look = appearance.install(app, "system")
    seen = []
    look.changed.connect(seen.append)

    def answering_platform():
        asked = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}.get(look.choice)
        if asked is not None:
            app.styleHints().colorSchemeChanged.emit(asked)

    monkeypatch.setattr(look, "_ask_platform", answering_platform)
    look.set_choice("dark")
    assert seen == [theme.DARK] and look.scheme() == "dark"
    assert app.palette().color(QPalette.ColorRole.Base).name() == theme.DARK.base
