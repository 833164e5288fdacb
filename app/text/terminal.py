"""Text from outside (transcripts, upstream errors, file names) made safe to print on a
terminal: escape sequences could clear the screen, retitle the window or fake output (no Qt)."""

from __future__ import annotations

import json
import re

# ESC/CSI/OSC/DCS sequences first (whole, so their parameters do not remain as text), then
# any single C0 control but \t and \n, DEL, and C1 controls (U+0080–U+009F).
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"                    # CSI: ESC[2J, colours, cursor moves
    r"|(?:\x1b[\]P^_X]|[\x9d\x90\x9e\x9f\x98])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC/DCS/PM/APC/SOS
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"                              # other escapes: ESC c, ESC(B
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")


def printable(text: object) -> str:
    """`text` without terminal control sequences or control characters (\\n and \\t kept)."""
    return _CONTROL.sub("", _SEQUENCE.sub("", str(text)))


def json_line(obj: object, **kw) -> str:
    """json.dumps(ensure_ascii=False) with DEL and C1 controls escaped too (JSON already
    escapes C0): the same value for any parser, nothing a terminal would act on."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False, **kw))
