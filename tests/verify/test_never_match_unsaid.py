"""Never match what was not said: non-speech against real sentences, a sentence written
twice and said once, and a transcript far longer than the audio could hold."""

from __future__ import annotations

import numpy as np
import pytest
from corpus import speak

from app.verify import bounds

SENTENCE = "The museum opens at nine in the morning."
RATE = 22050


def _non_speech(kind: str, seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(3)
    signal = {
        "sawtooth": 0.3 * ((31 * t) % 1.0 - 0.5),
        "tone": 0.3 * np.sin(2 * np.pi * 440 * t),
        "buzz": 0.3 * np.sign(np.sin(2 * np.pi * 120 * t)),
        "noise": 0.1 * rng.standard_normal(len(t)),
        "silence": np.zeros(len(t)),
    }[kind]
    return (signal * 32767).astype(np.int16)


def _assert_not_spoken(report, n_segments):
    assert report.verdict == "mismatch"
    assert [s.status for s in report.segments] == ["truncated"] * n_segments
    assert all(s.heard_language is None and s.start_s is None and s.confidence == "certain"
               for s in report.segments)
    assert all(w.status == "missing" and w.start_s is None for w in report.words)


@pytest.mark.parametrize("kind", ["sawtooth", "tone", "buzz", "noise", "silence"])
def test_non_speech_against_a_real_sentence_is_not_spoken(verifier, kind):
    report = verifier.verify(SENTENCE + " Tickets are sold at the door.", _non_speech(kind), RATE, "en")
    _assert_not_spoken(report, 2)


@pytest.mark.slow
def test_a_sentence_written_twice_and_said_once_flags_the_second(verifier):
    said = speak(SENTENCE, "en", ("piper:joe", 1.0))
    report = verifier.verify(f"{SENTENCE} {SENTENCE}", said.samples, said.sample_rate, "en")
    assert [s.status for s in report.segments] == ["ok", "truncated"], [
        (s.status, s.start_s, s.end_s) for s in report.segments]
    assert report.verdict == "mismatch" and report.segments[1].flagged
    assert report.segments[1].start_s is None


@pytest.mark.slow
def test_a_transcript_far_longer_than_the_audio_is_judged_only_as_far_as_the_audio_reaches(verifier,
                                                                                          monkeypatch):
    said = speak("Hello there.", "en", ("piper:joe", 1.0))
    audio = np.concatenate([said.samples, np.zeros(int(0.3 * said.sample_rate), np.int16)])
    transcript = " ".join(["Hello there."] * 800)          # 10 KB against about 1.5 s of audio
    judged = []
    real_listen = type(verifier)._listen
    monkeypatch.setattr(type(verifier), "_listen",
                        lambda self, call: (judged.append(len(call.words)), real_listen(self, call))[1])
    report = verifier.verify(transcript, audio, said.sample_rate, "en")
    assert len(report.segments) == 800 and len(report.words) == 1600
    assert report.segments[0].status == "ok" and report.verdict == "mismatch"
    assert all(s.status == "truncated" for s in report.segments[1:])
    duration = len(audio) / said.sample_rate
    budget = duration * bounds.BoundsOptions().max_chars_per_s + bounds.BoundsOptions().slack_chars
    # the recognizer saw only the sentences the audio could hold, not 800
    assert judged and judged[0] <= 2 * (budget / len("Hello there. ") + 1)
    # beyond them the audio had ended: red on every CPU. Among the few copies it did judge, one
    # squeezed into the last frames of speech is red on AVX2 and amber on GENERIC: not asserted
    head = judged[0] // 2
    assert all(s.flagged for s in report.segments[head:])


def test_the_budget_ends_at_a_sentence_end():
    text = "One two three. Four five six. Seven eight nine."
    segs = bounds.transcript_segments(text)
    opts = bounds.BoundsOptions(max_chars_per_s=10.0, slack_chars=0)
    assert bounds.judged_end(segs, 1.6, opts) == text.index(" Four") + len(" Four five six.")
    assert bounds.judged_end(segs, 100.0, opts) == len(text)
    assert bounds.judged_end(segs, 0.0, opts) == len("One two three.")
