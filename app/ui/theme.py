"""Colours, glyphs and the style sheet: one place, so every widget agrees."""

from dataclasses import dataclass

from app.core.utterance import Status

FLAG_TEXT = "#b3261e"            # red for anything the audio did not say
FLAG_BACKGROUND = "#fde7e9"
HIGHLIGHT_BACKGROUND = "#ffe082"  # the word being heard
HIGHLIGHT_TEXT = "#1a1a1a"
OK = "#1b7f3b"
WARN = "#9a6700"
MUTED = "#5f6368"


@dataclass(frozen=True)
class Look:
    """How one status reads everywhere: its glyph (so it reads without colour vision), the
    badge's words and style, and the history row's word."""

    glyph: str
    badge: str = ""
    label: str = ""
    style: str = ""     # a template: {ok}, {warn}, {muted}, {flag_text} are the colours in use


_PLAIN = "color: {muted};"
_GOOD = "color: white; background: {ok};"
_BAD = "color: white; background: {flag_text};"
_CAUTION = "color: white; background: {warn};"

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
    return look(status).style.format(ok=OK, warn=WARN, muted=MUTED, flag_text=FLAG_TEXT)


# Views of the table for older callers (Guard view).
GLYPH = {k: v.glyph for k, v in STATUS.items()}
STATUS_NAME = {k: STATUS[k].label for k in ("truncated", "drifted", "misspoken")}

STYLE_SHEET = """
QLabel#badge { border-radius: 9px; padding: 2px 10px; font-weight: 600; }
QLabel#error { color: #8c1d18; background: #f9dedc; border: 1px solid #f2b8b5;
               border-radius: 6px; padding: 6px 10px; }
QLabel#notice { color: #5c4400; background: #fff4ce; border: 1px solid #f0d98c;
                border-radius: 6px; padding: 6px 10px; }
QTextEdit#transcript { padding: 6px; }
QListWidget#flags { border: none; background: transparent; }
QPushButton#primary { font-weight: 600; padding: 6px 18px; }
"""
