"""A sentence said in another language is flagged drifted, with its language, and the
sentences said as written around it stay ok (the drift does not spill into them)."""

from __future__ import annotations

import numpy as np
import pytest
from corpus import speak

from app.audio.resample import resample

EN = ["The museum opens at nine in the morning.", "Tickets are sold at the door.",
      "Children under twelve come in for free."]
ES = "Las entradas se venden en la puerta del museo."


def _clip(text, lang, voice):
    s = speak(text, lang, (voice, 1.0))
    return s.samples if s.sample_rate == 22050 else resample(s.samples, s.sample_rate, 22050)


@pytest.mark.slow
@pytest.mark.parametrize("where", [0, 1, 2])
def test_a_sentence_said_in_spanish_is_drifted_and_only_it(verifier, where):
    gap = np.zeros(int(0.4 * 22050), np.int16)
    parts = []
    for i, sentence in enumerate(EN):
        parts += [_clip(ES, "es", "kokoro:jm_kumo") if i == where else _clip(sentence, "en", "piper:joe"), gap]
    report = verifier.verify(" ".join(EN), np.concatenate(parts), 22050, "en", "es")
    got = [(s.status, s.heard_language) for s in report.segments]
    want = [("drifted", "es") if i == where else ("ok", None) for i in range(3)]
    assert got == want, [(s.status, s.confidence, s.heard_language, s.heard) for s in report.segments]
    assert report.segments[where].flagged and report.verdict == "mismatch"
