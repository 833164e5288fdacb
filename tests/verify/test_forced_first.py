"""The transcript's likelihood comes first (issue 11): words scored as written, with their
punctuation, and answers plainly said decided without free decoding.

Real speech (Piper) through the real recognizer; the recognizer is only counted, never faked.
"""

from __future__ import annotations

import numpy as np
import pytest
from corpus import build

from app.audio.resample import resample
from app.verify import verifier as verifier_module

TWO = ["Please send me the report before lunch.", "The train was late again this morning."]


def _utterance(sentences, upto=None):
    transcript, pieces = "", []
    for s in sentences:
        if transcript:
            transcript += " "
        pieces.append(("en", s, len(transcript)))
        transcript += s
    audio, marks = build(pieces[:upto], transcript, style=("piper:joe", 1.0))
    return transcript, resample(audio, 22050, 24000), marks


class _Counting:
    """The real recognizer, with its free-decoding calls counted."""

    def __init__(self, verifier, monkeypatch):
        self.decodes = 0
        asr = verifier.load()
        real = asr.decode

        def decode(*args, **kwargs):
            self.decodes += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(asr, "decode", decode)


def test_a_sentence_after_a_full_stop_is_scored_with_it(verifier):
    # Whisper writes "lunch. The": scored without the full stop, "The" fell to ~0.01 in
    # perfectly clean speech and every second sentence looked suspect
    transcript, audio, _ = _utterance(TWO)
    words, _ = verifier._transcript_words(transcript, "en")
    assert [w.written for w in words][6:8] == ["lunch.", "The"]
    asr = verifier.load()
    x = resample(audio.astype(np.float32) / 32768.0, 24000, verifier_module.SR)
    enc, n = asr.encode(x)
    probs = [f.prob for f in asr.force(enc, n, "en", [w.written for w in words])]
    assert probs[7] >= 0.5 and min(probs) >= 0.3, list(zip([w.written for w in words], probs, strict=True))


def test_a_clean_answer_is_decided_without_free_decoding(verifier, monkeypatch):
    counting = _Counting(verifier, monkeypatch)
    transcript, audio, marks = _utterance(TWO)
    report = verifier.verify(transcript, audio, 24000, "en", "es")
    assert report.verdict == "match" and counting.decodes == 0
    # times come from the forced alignment: still in step with the voice's own word marks
    starts = {w.char_start: w.start_s for w in report.words}
    errors = [abs(starts[c] - t) for c, t in marks if starts.get(c) is not None]
    assert len(errors) == len(marks) and np.median(errors) <= 0.08 and max(errors) <= 0.25, errors
    assert all(a.start_s <= b.start_s for a, b in zip(report.words, report.words[1:], strict=False))


def test_the_fast_path_gives_the_full_paths_verdict_and_times(verifier, monkeypatch):
    transcript, audio, _ = _utterance(TWO)
    fast = verifier.verify(transcript, audio, 24000, "en", "es")
    monkeypatch.setattr(verifier_module, "_plainly_said", lambda call: False)
    full = verifier.verify(transcript, audio, 24000, "en", "es")
    assert [s.status for s in fast.segments] == [s.status for s in full.segments] == ["ok", "ok"]
    gaps = [abs(a.start_s - b.start_s) for a, b in zip(fast.words, full.words, strict=True)]
    assert max(gaps) <= 0.15, gaps


@pytest.mark.parametrize("upto, expected", [(1, ["ok", "truncated"])])
def test_a_cut_answer_still_gets_free_decoding_and_its_flag(verifier, monkeypatch, upto, expected):
    counting = _Counting(verifier, monkeypatch)
    transcript, audio, _ = _utterance(TWO, upto=upto)
    report = verifier.verify(transcript, audio, 24000, "en", "es")
    assert [s.status for s in report.segments] == expected and counting.decodes >= 1
