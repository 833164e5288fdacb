"""eSpeak NG speech from a fresh state. The library's output drifts by a few samples with
everything the process said before (its nth call gives the same samples in every process),
so a verdict near the line would depend on which tests ran first; the `espeak-ng` command
starts each piece afresh."""

from __future__ import annotations

import numpy as np

from app.core.languages import LANGUAGES
from app.tts import espeak

RATE = 22050      # the command's output rate


def fresh_espeak(pieces: list[tuple[str, str]], pause_s: float = 0.25, wpm: int = 165) -> np.ndarray:
    """(language, text) pieces spoken one after another with `pause_s` between, at RATE."""
    gap = np.zeros(int(pause_s * RATE), np.int16)
    parts = []
    for lang, text in pieces:
        parts += [espeak._synth_cli(text, LANGUAGES[lang].espeak, wpm, 50), gap]
    return np.concatenate(parts)
