"""Colours, glyphs and the style sheet: one place, so every widget agrees."""

FLAG_TEXT = "#b3261e"            # red for anything the audio did not say
FLAG_BACKGROUND = "#fde7e9"
HIGHLIGHT_BACKGROUND = "#ffe082"  # the word being heard
HIGHLIGHT_TEXT = "#1a1a1a"
OK = "#1b7f3b"
WARN = "#9a6700"
MUTED = "#5f6368"

# Status glyphs pair with colour so the state reads without colour vision.
GLYPH = {
    "match": "✓", "repaired": "✓", "mismatch": "✗", "incomplete": "◐", "failed": "!",
    "verifying": "◌", "unverified": "?", "connecting": "◌", "stopped": "■", "streaming": "♪", "repairing": "↻",
    "truncated": "✂", "drifted": "⇆", "misspoken": "≠",
}
STATUS_NAME = {"truncated": "Not spoken", "drifted": "Wrong language", "misspoken": "Spoken differently"}

BADGE_STYLE = {
    "idle": f"color: {MUTED};",
    "streaming": f"color: {MUTED};",
    "verifying": f"color: {MUTED}; border: 1px solid #c4c7c5;",
    "unverified": f"color: {MUTED}; border: 1px dashed #c4c7c5;",
    "match": f"color: white; background: {OK};",
    "repaired": f"color: white; background: {OK};",
    "mismatch": f"color: white; background: {FLAG_TEXT};",
    "repairing": f"color: white; background: {WARN};",
    "incomplete": f"color: white; background: {WARN};",
    "failed": f"color: white; background: {FLAG_TEXT};",
    "connecting": f"color: {MUTED};",
    "stopped": f"color: {WARN}; border: 1px solid {WARN};",
}

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
