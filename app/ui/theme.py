"""Colours, glyphs and the style sheet: one place, so every widget agrees.

Two palettes, light and dark; `colors()` is the one in use. The app follows the system's
scheme (Qt's `QStyleHints.colorScheme`, live through `colorSchemeChanged`) unless the user
chose Light or Dark in Settings. Every text colour here keeps a contrast of at least 4.5:1
(WCAG AA) against the background it is drawn on, in both palettes (tests/ui/test_theme.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.utterance import Status


@dataclass(frozen=True)
class Colors:
    scheme: str                 # "light" | "dark"
    base: str                   # text boxes: the transcript's background
    window: str                 # the window's own background (labels, legend)
    text: str
    flag_text: str              # red for anything the audio did not say
    flag_background: str        # a flagged sentence's background (flag_text is drawn on it)
    doubt_text: str             # amber: a sentence that may differ (only the recognizer is unsure)
    doubt_background: str       # its background (doubt_text is drawn on it)
    highlight_background: str   # the word being heard
    highlight_text: str
    ok: str
    warn: str
    muted: str
    error_text: str
    error_background: str
    error_border: str
    notice_text: str
    notice_background: str
    notice_border: str
    hint_background: str        # the first-run hint
    hint_border: str
    selection: str


LIGHT = Colors(
    scheme="light", base="#ffffff", window="#efefef", text="#1a1a1a",
    flag_text="#b3261e", flag_background="#fde7e9",
    doubt_text="#7a4f00", doubt_background="#fff1c7",
    highlight_background="#ffe082", highlight_text="#1a1a1a",
    ok="#176c34", warn="#855800", muted="#53575c",
    error_text="#8c1d18", error_background="#f9dedc", error_border="#f2b8b5",
    notice_text="#5c4400", notice_background="#fff4ce", notice_border="#f0d98c",
    hint_background="#e8f0fe", hint_border="#aecbfa", selection="#3874d8",
)

DARK = Colors(
    scheme="dark", base="#1e1f22", window="#2b2d31", text="#e6e6e6",
    flag_text="#ff9b91", flag_background="#4a1f22",
    doubt_text="#f2c661", doubt_background="#3a2e0a",
    highlight_background="#ffd54f", highlight_text="#1a1a1a",
    ok="#6fcf8f", warn="#e3b341", muted="#a9adb3",
    error_text="#ffdad6", error_background="#5c1a16", error_border="#8c1d18",
    notice_text="#ffe08a", notice_background="#3d3000", notice_border="#6b5500",
    hint_background="#1f2d45", hint_border="#3d5a8a", selection="#4a7fd6",
)

_current: Colors = LIGHT


def colors() -> Colors:
    """The palette in use now (widgets read it when they paint, so a scheme change shows)."""
    return _current


def set_colors(palette: Colors) -> None:
    """Make `palette` current; the module-level names below follow, for code that reads them."""
    global _current, FLAG_TEXT, FLAG_BACKGROUND, HIGHLIGHT_BACKGROUND, HIGHLIGHT_TEXT, OK, WARN, MUTED
    global STYLE_SHEET, DOUBT_TEXT, DOUBT_BACKGROUND
    _current = palette
    FLAG_TEXT, FLAG_BACKGROUND = palette.flag_text, palette.flag_background
    DOUBT_TEXT, DOUBT_BACKGROUND = palette.doubt_text, palette.doubt_background
    HIGHLIGHT_BACKGROUND, HIGHLIGHT_TEXT = palette.highlight_background, palette.highlight_text
    OK, WARN, MUTED = palette.ok, palette.warn, palette.muted
    STYLE_SHEET = style_sheet(palette)


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    def luminance(hex_colour: str) -> float:
        h = hex_colour.lstrip("#")
        channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


FLAG_TEXT = LIGHT.flag_text
FLAG_BACKGROUND = LIGHT.flag_background
DOUBT_TEXT = LIGHT.doubt_text
DOUBT_BACKGROUND = LIGHT.doubt_background
HIGHLIGHT_BACKGROUND = LIGHT.highlight_background
HIGHLIGHT_TEXT = LIGHT.highlight_text
OK = LIGHT.ok
WARN = LIGHT.warn
MUTED = LIGHT.muted


@dataclass(frozen=True)
class Look:
    """How one status reads everywhere: its glyph (so it reads without colour vision), the
    badge's words and style, and the history row's word."""

    glyph: str
    badge: str = ""
    label: str = ""
    style: str = ""     # a template: {ok}, {warn}, {muted}, {flag_text}, {badge_*} (BADGE_BACKGROUND)


_PLAIN = "color: {muted};"
_GOOD = "color: white; background: {badge_ok};"
_BAD = "color: white; background: {badge_bad};"
_CAUTION = "color: white; background: {badge_caution};"
# filled badges keep white text on the same deep colours in light and dark (≥ 4.5:1)
BADGE_BACKGROUND = {"badge_ok": "#176c34", "badge_bad": "#b3261e", "badge_caution": "#855800"}

# The one status table: an utterance's Status, the request phases the badge shows
# (idle, connecting, repairing, stopped), and a flagged sentence's status.
STATUS: dict[str, Look] = {
    Status.MATCH: Look("✓", "Audio matches the transcript", "matches", _GOOD),
    Status.REPAIRED: Look("✓", "Repaired — audio matches", "repaired", _GOOD),
    Status.MISMATCH: Look("✗", "Audio differs", "mismatch", _BAD),
    Status.INCOMPLETE: Look("◐", "Incomplete answer", "incomplete", _CAUTION),
    Status.FAILED: Look("!", "Failed", "failed", _BAD),
    Status.VERIFYING: Look("◌", "Verifying…", "not checked yet", f"{_PLAIN} border: 1px solid #c4c7c5;"),
    Status.UNVERIFIED: Look("?", "Not verified", "not verified", f"{_PLAIN} border: 1px dashed #c4c7c5;"),
    Status.STREAMING: Look("♪", "Receiving…", "receiving", _PLAIN),
    "idle": Look("", "", "", _PLAIN),
    "connecting": Look("◌", "Connecting…", "connecting", _PLAIN),
    "repairing": Look("↻", "Repairing…", "repairing", _CAUTION),
    "stopped": Look("■", "Stopped", "stopped", "color: {warn}; border: 1px solid {warn};"),
    # a flagged sentence
    "truncated": Look("✂", label="Not spoken"),
    "drifted": Look("⇆", label="Wrong language"),
    "misspoken": Look("≠", label="Spoken differently"),
}
_UNKNOWN = Look("")


def look(status: str) -> Look:
    return STATUS.get(status, _UNKNOWN)


def badge_style(status: str) -> str:
    """The badge's style sheet for `status`, in the colours in use now."""
    c = _current
    return look(status).style.format(ok=c.ok, warn=c.warn, muted=c.muted, flag_text=c.flag_text,
                                     **BADGE_BACKGROUND)


def style_sheet(c: Colors | None = None) -> str:
    c = c or _current
    return f"""
QLabel#badge {{ border-radius: 9px; padding: 2px 10px; font-weight: 600; }}
QLabel#error {{ color: {c.error_text}; background: {c.error_background}; border: 1px solid {c.error_border};
               border-radius: 6px; padding: 6px 10px; }}
QLabel#notice {{ color: {c.notice_text}; background: {c.notice_background}; border: 1px solid {c.notice_border};
                border-radius: 6px; padding: 6px 10px; }}
QFrame#firstRunHint {{ background: {c.hint_background}; border: 1px solid {c.hint_border}; border-radius: 6px; }}
QFrame#firstRunHint QLabel {{ color: {c.text}; background: transparent; border: none; }}
QLabel#testResult[kind="ok"] {{ color: {c.ok}; }}
QLabel#testResult[kind="fail"] {{ color: {c.flag_text}; }}
QLabel#testResult[kind="busy"] {{ color: {c.muted}; }}
QLabel#warnNote {{ color: {c.warn}; }}
QLabel#emptyHistory, QLabel#hint {{ color: {c.muted}; }}
QTextEdit#transcript {{ padding: 6px; }}
QListWidget#flags {{ border: none; background: transparent; }}
QPushButton#primary {{ font-weight: 600; padding: 6px 18px; }}
"""


STYLE_SHEET = style_sheet(LIGHT)
