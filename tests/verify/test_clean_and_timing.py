"""Clean speech matches; word times agree with espeak's own word boundaries."""

from __future__ import annotations

import numpy as np
from corpus import build

from app.audio.resample import resample
from app.core.report import Report
from app.tts import synthesize

SENTENCES = ["Please send me the report before lunch.", "We need to buy more coffee for the office.",
             "My brother lives in a small house near the river."]


def _clean(sentences, lang="en"):
    transcript, pieces, _pos = "", [], 0
    for s in sentences:
        if transcript:
            transcript += " "
        pieces.append((lang, s, len(transcript)))
        transcript += s
    audio, marks = build(pieces, transcript)
    return transcript, audio, marks


def test_clean_speech_matches_with_word_times(verifier):
    transcript, audio, marks = _clean(SENTENCES)
    report = verifier.verify(transcript, audio, 22050, "en")
    assert isinstance(report, Report)
    assert report.verdict == "match", [(s.status, s.heard) for s in report.segments]
    assert [s.status for s in report.segments] == ["ok", "ok", "ok"]
    assert all(w.status == "ok" and w.start_s is not None for w in report.words)
    assert report.engine == {"asr": "faster-whisper", "model": "whisper-base"}
    assert 0 < report.elapsed_s < 10
    assert abs(report.audio_duration_s - len(audio) / 22050) < 0.01
    # word starts within tolerance of espeak's word marks
    by_start = {w.char_start: w for w in report.words}
    errors = [abs(by_start[cs].start_s - st) for cs, st in marks if cs in by_start]
    assert len(errors) >= len(report.words) - 2
    errors.sort()
    assert errors[len(errors) // 2] <= 0.08, errors
    assert errors[int(len(errors) * 0.9)] <= 0.25, errors
    # times increase and segments span their words
    starts = [w.start_s for w in report.words]
    assert starts == sorted(starts)
    for seg in report.segments:
        assert seg.start_s is not None and seg.end_s is not None and seg.start_s < seg.end_s


def test_synthesize_and_other_rates(verifier):
    text = "Please send me the report before lunch."
    s = synthesize(text, "en", voice="espeak")
    pcm24 = resample(s.samples, s.sample_rate, 24000)
    report = verifier.verify(text, pcm24, 24000, "en")
    assert report.verdict == "match", [(x.status, x.heard) for x in report.segments]
    d = report.to_dict()
    assert list(d) == ["verdict", "uncertain", "language", "audio_duration_s", "segments", "words", "engine",
                       "elapsed_s"]


def test_spanish_target_clean(verifier):
    transcript, audio, _ = _clean(["Hoy hace muy buen tiempo.", "Los niños están jugando en el jardín."], "es")
    report = verifier.verify(transcript, audio, 22050, "es")
    assert report.verdict == "match", [(s.status, s.heard) for s in report.segments]


def test_silent_audio_means_all_truncated(verifier):
    report = verifier.verify("Hello there. How are you?", np.zeros(22050 * 2, np.int16), 22050, "en")
    assert [s.status for s in report.segments] == ["truncated", "truncated"]
    assert all(w.status == "missing" and w.start_s is None for w in report.words)
    assert report.verdict == "mismatch"


def test_empty_audio_and_empty_transcript(verifier):
    r = verifier.verify("Hello there.", np.zeros(0, np.int16), 24000, "en")
    assert [s.status for s in r.segments] == ["truncated"]
    assert r.audio_duration_s == 0
    r = verifier.verify("", np.zeros(1000, np.int16), 24000, "en")
    assert r.segments == [] and r.words == [] and r.verdict == "match"


def test_unknown_language_raises(verifier):
    import pytest

    from app.verify.verifier import VerifyError

    with pytest.raises(VerifyError):
        verifier.verify("Hello.", np.zeros(100, np.int16), 16000, "xx")
