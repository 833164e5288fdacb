"""Where is there speech? Silero VAD (shipped inside faster-whisper's package) per 32 ms frame.

The energy gate in `voice.py` says where there is *sound*; a buzz, a tone or noise has
plenty of it, and a forced alignment will place any text on any sound. This map says where
a person (or a voice) is speaking, so that no sentence is called spoken over non-speech,
and an answer with no speech at all is "not spoken" before any recognizer runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

SR = 16000
FRAME = 512                      # Silero's window at 16 kHz
FRAME_S = FRAME / SR             # 32 ms


@dataclass(frozen=True, slots=True)
class SpeechOptions:
    # Silero's own default: a frame is speech at this probability (its documented threshold)
    threshold: float = 0.5
    # an answer with less speech than this in total said nothing (a cough, a click, a tone)
    min_answer_speech_s: float = 0.2
    # two sentences placed on the same stretch: the later one reuses audio when more than
    # this share of its own span was already taken by earlier sentences
    max_reused_share: float = 0.25


_lock = threading.Lock()


def _model():
    from faster_whisper.vad import get_vad_model

    with _lock:         # lru_cache'd; the lock keeps two threads from loading it twice
        return get_vad_model()


def warm_speech_model() -> None:
    """Load the speech detector now (0.4 s), not inside the first verification."""
    _model()


class SpeechMap:
    """Speech probability per 32 ms frame of 16 kHz audio, and questions about spans of it."""

    def __init__(self, probs: np.ndarray, options: SpeechOptions) -> None:
        self.probs = probs
        self.options = options
        self.mask = probs >= options.threshold
        self._cum = np.concatenate([[0], np.cumsum(self.mask, dtype=np.int64)])

    @property
    def total_s(self) -> float:
        return float(self._cum[-1]) * FRAME_S

    def speech_between(self, a: float, b: float) -> float:
        """Seconds of speech in [a, b)."""
        i = int(np.clip(np.floor(a / FRAME_S), 0, len(self.mask)))
        j = int(np.clip(np.ceil(b / FRAME_S), 0, len(self.mask)))
        return float(self._cum[j] - self._cum[i]) * FRAME_S if j > i else 0.0

    def said_anything(self) -> bool:
        return self.total_s >= self.options.min_answer_speech_s


def speech_map(x: np.ndarray, options: SpeechOptions | None = None) -> SpeechMap:
    """`x`: float32 mono at 16 kHz, in [-1, 1]."""
    options = options or SpeechOptions()
    x = np.asarray(x, dtype=np.float32)
    if len(x) < FRAME:
        return SpeechMap(np.zeros(0, np.float32), options)
    padded = np.pad(x, (0, (-len(x)) % FRAME))
    probs = np.asarray(_model()(padded), dtype=np.float32).reshape(-1)
    return SpeechMap(probs, options)
