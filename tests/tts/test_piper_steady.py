"""The suite's voices are reproducible: the same text gives the same samples, whatever
was synthesized in between (Piper's sampling noise is off under VERBATIM_STEADY_VOICES)."""

from __future__ import annotations

import numpy as np
import pytest

from app.tts import piper_voice

pytestmark = pytest.mark.slow


def test_the_same_text_gives_the_same_samples_under_steady_voices(monkeypatch):
    monkeypatch.setenv("VERBATIM_STEADY_VOICES", "1")
    text = "Bring the tickets and your passport."
    first = piper_voice.synthesize(text).samples
    piper_voice.synthesize("Something else in between.")
    again = piper_voice.synthesize(text).samples
    assert np.array_equal(first, again)


def test_without_it_the_voice_keeps_its_natural_variation(monkeypatch):
    monkeypatch.delenv("VERBATIM_STEADY_VOICES", raising=False)
    text = "Bring the tickets and your passport."
    takes = {piper_voice.synthesize(text).samples.tobytes() for _ in range(3)}
    assert len(takes) > 1
