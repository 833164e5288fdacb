"""The prefix entry point: the audio so far of an answer still arriving. Sentences it has
not reached are pending (never flagged); a wrong-language opening is caught early."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from corpus import PAUSE_S

from app.core.report import Report, SegmentResult, WordResult
from app.verify.prefix import prefix_view
from app.verify.worker import VerifierWorker
from tests.helpers.speech import RATE, fresh_espeak

SEED = json.loads((Path(__file__).resolve().parents[2] / "resources" / "seed-cases.json").read_text())
CASES = {c["id"]: c for c in SEED["cases"]}


def test_words_the_audio_has_not_reached_are_pending_not_flagged():
    text = "It works now. That is all."
    words = [WordResult("It", 0, 2, "ok", 0.0, 0.2), WordResult("works", 3, 8, "ok", 0.3, 0.6),
             WordResult("now", 9, 12, "ok", 0.7, 0.9), WordResult("That", 14, 18, "missing"),
             WordResult("is", 19, 21, "missing"), WordResult("all", 22, 25, "missing")]
    r = Report("mismatch", "en", 1.5, segments=[SegmentResult(0, "It works now.", 0, 13, "ok", 0.0, 0.9),
                                                SegmentResult(1, "That is all.", 14, 26, "truncated")],
               words=words)
    p = prefix_view(r, text)
    assert p.pending_from == 14 and p.confirmed_chars == 12 and p.confirmed_s == pytest.approx(0.9)
    assert [s.index for s in p.segments] == [0] and p.first_flag is None


def test_a_sentence_the_audio_is_in_the_middle_of_is_ok_so_far():
    text = "It works now and then."
    words = [WordResult("It", 0, 2, "ok", 0.0, 0.2), WordResult("works", 3, 8, "ok", 0.3, 0.6),
             WordResult("now", 9, 12, "missing"), WordResult("and", 13, 16, "missing"),
             WordResult("then", 17, 21, "missing")]
    r = Report("mismatch", "en", 1.2, segments=[SegmentResult(0, text, 0, 22, "truncated", 0.0, 0.6)],
               words=words)
    p = prefix_view(r, text)
    assert [s.status for s in p.segments] == ["ok"] and p.flagged == [] and p.pending_from == 9


@pytest.fixture(scope="module")
def worker(verifier):
    w = VerifierWorker(verifier=verifier)
    yield w
    w.close()


def _first_seconds(pieces, seconds):
    audio = fresh_espeak(pieces, PAUSE_S)
    return audio[: int(seconds * RATE)]


@pytest.mark.slow
def test_a_wrong_language_opening_is_flagged_from_the_first_second(worker):
    case = CASES["drifted-1"]
    audio = _first_seconds(case["spoken"], 2.0)
    p = worker.submit_prefix(case["transcript"], audio, RATE, "en", "es").result(120)
    assert p.first_flag is not None and p.first_flag.index == 0, [
        (s.status, s.heard, s.heard_language) for s in p.report.segments]
    assert p.first_flag.status == "drifted" and p.first_flag.heard_language == "es"
    assert p.confirmed_chars == 0


@pytest.mark.slow
def test_a_clean_opening_is_confirmed_and_the_rest_is_pending(worker):
    case = CASES["truncated-1"]
    said = [["en", case["transcript"]]]
    audio = _first_seconds(said, 2.5)
    p = worker.submit_prefix(case["transcript"], audio, RATE, "en", "es").result(120)
    assert p.flagged == [], [(s.status, s.heard) for s in p.report.segments]
    assert 0 < p.confirmed_chars < p.pending_from < len(case["transcript"])
    assert case["transcript"][:p.confirmed_chars].startswith("I'm checking")
    assert np.isfinite(p.confirmed_s) and 0 < p.confirmed_s <= 2.5


def test_the_prefix_text_is_what_the_audio_could_hold_cut_at_a_word():
    from app.verify.prefix import prefix_text

    text = "Exactly, it used to work automatically before, but since the last update I have to press it."
    head = prefix_text(text, 1.0)
    assert text.startswith(head) and len(head) <= 37 and not head.endswith(" ")
    assert text[len(head)] == " "
    assert prefix_text(text, 60.0) == text and prefix_text("", 1.0) == ""
