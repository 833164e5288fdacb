"""Word times for the highlight: estimated while streaming, then measured (no Qt).

Before the verifier has aligned the audio, the view still needs to know which word is
being heard. Like LiveKit Agents' transcript synchronizer, we pace words by syllables:
a default speaking rate while the audio is still arriving, re-fitted to the real audio
length once it is complete. The verifier's word times replace the estimate later.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from app.text.segments import Span, split_sentences, split_words

WordTime = tuple[float, float] | None

DEFAULT_SYLLABLES_PER_S = 4.2     # typical synthetic speech; refitted when audio completes
_SENTENCE_PAUSE_S = 0.35
_COMMA_PAUSE_S = 0.15
_VOWEL_GROUPS = re.compile(r"[aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿœаеёиоуыэюяαεηιουω]+", re.I)


def syllables(word: str) -> int:
    """Rough syllable count; digits and symbols are spelled out so they weigh more."""
    digits = sum(ch.isdigit() for ch in word)
    symbols = sum(ch in "@%&$€£#+" for ch in word)
    letters = re.sub(r"[^\w]|\d", "", word)
    groups = len(_VOWEL_GROUPS.findall(letters))
    if letters and not groups:  # CJK, consonant-only abbreviations: a syllable per char
        groups = len(letters) if not letters.isascii() else max(1, len(letters) // 2)
    return max(1, groups + int(digits * 1.5) + symbols * 2)


def estimate_word_times(text: str, audio_s: float | None = None, *,
                        rate: float = DEFAULT_SYLLABLES_PER_S,
                        lead_s: float = 0.0) -> list[WordTime]:
    """Times for every word of `text` (split_words order).

    With `audio_s` (the complete audio's length) the pacing is stretched to fit it;
    without it, words are paced at `rate` syllables per second.
    """
    words = split_words(text)
    if not words:
        return []
    sentence_ends = sorted(s.end for s in split_sentences(text))
    units: list[tuple[float, float]] = []  # (speech units, pause after)
    for i, w in enumerate(words):
        pause = 0.0
        tail = text[w.end:words[i + 1].start] if i + 1 < len(words) else ""
        k = bisect.bisect_left(sentence_ends, w.end)
        if i + 1 < len(words) and k < len(sentence_ends) and sentence_ends[k] <= words[i + 1].start:
            pause = _SENTENCE_PAUSE_S
        elif "," in tail or ";" in tail or ":" in tail:
            pause = _COMMA_PAUSE_S
        units.append((syllables(w.text) / rate, pause))
    total = sum(a + b for a, b in units)
    scale = 1.0
    if audio_s is not None and total > 0:
        scale = max(0.05, (audio_s - lead_s)) / total
    out: list[WordTime] = []
    t = lead_s
    for speak, pause in units:
        out.append((t, t + speak * scale))
        t += (speak + pause) * scale
    return out


def words_of(text: str) -> list[Span]:
    return split_words(text)


class HighlightTracker:
    """Which word is being heard, never visibly jumping back while playback runs forward.

    When better word times arrive mid-playback (estimate -> alignment), the new times may
    place the current position at an earlier word; the highlight then holds until the
    listener reaches the next word instead of flicking backwards. A seek resets that.
    """

    def __init__(self) -> None:
        self.times: list[WordTime] = []
        self.index = -1
        self._last_position = 0.0

    def set_times(self, times: Sequence[WordTime]) -> None:
        self.times = list(times)
        if self.index >= len(self.times):
            self.index = len(self.times) - 1

    def reset(self) -> None:
        """Call on seek/replay: the next update may move anywhere."""
        self.index = -1
        self._last_position = 0.0

    def word_at(self, position: float) -> int:
        """Index of the last spoken word whose start is <= position (-1 before the first)."""
        best = -1
        for i, t in enumerate(self.times):
            if t is None:
                continue
            if t[0] <= position + 1e-6:
                best = i
            else:
                break
        return best

    def update(self, position: float) -> int:
        target = self.word_at(position)
        moving_forward = position >= self._last_position - 0.05
        if moving_forward and target < self.index:
            target = self.index  # hold: never flick back while time moves forward
        self.index = target
        self._last_position = position
        return self.index
