from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.audio.resample import resample


class TTSError(RuntimeError):
    """Synthesis is impossible (backend missing, voice unknown); message is user-facing."""


@dataclass(frozen=True, slots=True)
class WordMark:
    """Where a word of the synthesized text sits in the audio (ground truth)."""

    char_start: int
    char_end: int
    start_s: float
    end_s: float


@dataclass(slots=True)
class Synthesis:
    samples: np.ndarray                 # mono int16
    sample_rate: int
    words: list[WordMark] | None = None  # None when the backend cannot say
    voice: str = ""
    language: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    def at_rate(self, rate: int) -> Synthesis:
        """Same speech at another sample rate; word times are unchanged."""
        if rate == self.sample_rate:
            return self
        return Synthesis(resample(self.samples, self.sample_rate, rate), rate, self.words,
                         self.voice, self.language, dict(self.extra))


def trim_word_ends(samples: np.ndarray, rate: int, starts: list[float], total_s: float) -> list[float]:
    """End of each word = last loud sample before the next word starts.

    TTS engines report where words start; the pause between two words belongs to
    neither, so ends are found by energy in 10 ms frames.
    """
    hop = max(1, rate // 100)
    n = len(samples) // hop
    if n == 0:
        return [total_s] * len(starts)
    frames = samples[: n * hop].astype(np.float32).reshape(n, hop)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    loud = rms > max(300.0, float(np.percentile(rms, 95)) * 0.06)
    ends = []
    for i, s in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else total_s
        a, b = int(s * 100), max(int(s * 100) + 1, int(nxt * 100))
        idx = np.nonzero(loud[a:b])[0]
        ends.append(float(min(nxt, (a + idx[-1] + 1) / 100.0)) if len(idx) else float(min(nxt, s + 0.05)))
    return ends
