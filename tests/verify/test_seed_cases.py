"""The four reported mismatches, rebuilt with real espeak-ng speech, get exactly their statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus import PAUSE_S

from tests.helpers.speech import fresh_espeak

SEED = Path(__file__).resolve().parents[2] / "resources" / "seed-cases.json"
_DATA = json.loads(SEED.read_text())
CASES = _DATA["cases"]
SOURCE = _DATA["source_language"]   # the app always tells the verifier what the user typed in


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_seed_case_statuses(verifier, case):
    audio = fresh_espeak(case["spoken"], PAUSE_S)
    report = verifier.verify(case["transcript"], audio, 22050, "en", SOURCE)
    assert [s.status for s in report.segments] == case["expected"], [
        (s.status, s.heard, s.heard_language) for s in report.segments]
    assert report.verdict == "mismatch"
    for seg in report.segments:
        if seg.status == "truncated" and seg.start_s is None:
            assert seg.end_s is None
        if seg.status == "drifted":
            assert seg.heard_language and seg.heard_language != "en"
            assert seg.heard
    words = report.words
    assert all((w.start_s is None) == (w.status == "missing") for w in words)
    # truncated sentences' words are missing
    for seg in report.segments:
        inside = [w for w in words if seg.char_start <= w.char_start < seg.char_end]
        if seg.status == "truncated" and seg.start_s is None:
            assert all(w.status == "missing" for w in inside)
        if seg.status == "ok":
            assert all(w.status == "ok" for w in inside)


def test_drifted_truncated_missing_words_are_the_second_sentence(verifier):
    case = next(c for c in CASES if c["id"] == "drifted-truncated-1")
    audio = fresh_espeak(case["spoken"], PAUSE_S)
    report = verifier.verify(case["transcript"], audio, 22050, "en", SOURCE)
    missing = [w.text for w in report.words if w.status == "missing"]
    assert missing == ["That’s", "the", "best", "one"]
    assert report.segments[0].heard_language == "es"
