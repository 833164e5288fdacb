"""Text from outside printed on a terminal: no escape sequences, no control characters."""

import json

import pytest

from app.text.terminal import json_line, printable


@pytest.mark.parametrize("raw, shown", [
    ("Hi\x1b[2J there", "Hi there"),                        # clear screen
    ("a\x1b[1;31mred\x1b[0m b", "ared b"),                   # colours
    ("\x1b]0;pwned\x07title", "title"),                      # OSC window title, BEL-terminated
    ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),    # OSC hyperlink, ST-terminated
    ("\x9b2Jc1 \x9d0;t\x9cok", "c1 ok"),                     # C1 CSI and OSC
    ("fake\rreal\x08\x00\x7f\x85", "fakereal"),              # CR, backspace, NUL, DEL, NEL
    ("\x1bcreset", "reset"),                                 # ESC c (full reset)
    ("line one\n\tline two", "line one\n\tline two"),        # newline and tab kept
    ("Ünïcødé ¿Dónde? 中文 →", "Ünïcødé ¿Dónde? 中文 →"),
])
def test_printable_strips_sequences_and_controls(raw, shown):
    assert printable(raw) == shown


def test_json_line_escapes_c1_and_del_and_keeps_the_value():
    value = {"t": "a\x9b2Jb\x7f\x1b[2J ünï"}
    line = json_line(value)
    assert not any(0x7f <= ord(c) <= 0x9f or ord(c) < 0x20 for c in line)
    assert json.loads(line) == value and "ünï" in line
    plain = {"t": "¿Dónde está la estación?"}
    assert json_line(plain) == json.dumps(plain, ensure_ascii=False)
