"""history list/show (and the check and guard printers) print text from outside without
terminal control sequences (issue 24, "Files")."""

import json
import re
from types import SimpleNamespace

from app.cli import main
from app.core.report import Report, SegmentResult
from app.history import HistoryStore
from tests.helpers import utterance

HOSTILE = "Hi\x1b[2J there\x1b]0;pwned\x07 ok\x9b31m\r."
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(out: str) -> bool:
    return CONTROL.search(out) is None


def hostile_history(tmp_path):
    s = HistoryStore(tmp_path / "h")
    u = utterance(HOSTILE, "in\x1b[31mput")
    u.report = Report("mismatch", "en", 1.0, [SegmentResult(0, HOSTILE, 0, len(HOSTILE), "misspoken",
                                                            0.0, 0.9, heard="he\x1b]0;x\x07ard")], [])
    s.save(u)
    s.close()
    return str(tmp_path / "h"), u


def test_history_list_and_show_strip_control_sequences(tmp_path, capsys):
    d, u = hostile_history(tmp_path)
    assert main(["history", "--dir", d, "list"]) == 0
    out = capsys.readouterr().out
    assert clean(out) and "Hi there ok." in out and out.count("\n") == 1
    assert main(["history", "--dir", d, "show", u.id]) == 0
    out = capsys.readouterr().out
    assert clean(out) and "transcript: Hi there ok." in out and "input:      input" in out and "heard" in out


def test_history_list_json_keeps_the_text_but_no_raw_controls(tmp_path, capsys):
    d, u = hostile_history(tmp_path)
    assert main(["history", "--dir", d, "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert clean(out.rstrip("\n")) and json.loads(out)[0]["transcript"] == HOSTILE


def test_check_summary_strips_control_sequences(capsys):
    from app.verify.command import _print_summary

    seg = SegmentResult(0, HOSTILE, 0, len(HOSTILE), "misspoken", 0.0, 0.9, heard="he\x1b]0;x\x07ard")
    _print_summary(Report("mismatch", "en", 1.0, [seg], []))
    out = capsys.readouterr().out
    assert clean(out) and "Hi there ok" in out and "heard" in out


def test_guard_printer_strips_control_sequences_from_upstream_text(capsys):
    from app.guard.command import _printer

    r = SimpleNamespace(status="mismatch", transcript=HOSTILE, flagged=[], appended_text="",
                        error="upstream said \x1b]0;pwned\x07\x1b[2Jno",
                        summary=lambda: {"transcript": HOSTILE, "error": "\x9b2J"})
    _printer(False).on_response(r)
    _printer(True).on_response(r)
    text, js = capsys.readouterr().out.splitlines()
    assert clean(text) and "upstream said no" in text
    assert clean(js) and json.loads(js) == {"transcript": HOSTILE, "error": "\x9b2J"}
