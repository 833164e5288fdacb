"""Speech no sentence claims: a sentence called "not spoken" while a voice speaks where it
should be was most likely said in another language.

The stages before align heard words to written ones; a sentence said in another language
leaves nothing to align, and when the voice after it does not pay for its words (a short
English sentence for a long Spanish one) it reads "not spoken". Here the speech between
the sentences either side of it is heard by Whisper's language ID: another language,
clearly heard, makes it `drifted` (with what it said, decoded in that language); speech in
the target language that matched none of its words leaves it flagged, but only amber.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.core.report import CERTAIN, UNCERTAIN, SegmentResult
from app.verify.speech import FRAME_S, SR, SpeechMap

if TYPE_CHECKING:
    from app.verify.evidence import Word


@dataclass(frozen=True, slots=True)
class UnclaimedOptions:
    # speech left between two said sentences (or after the last) at least this long, and ...
    min_speech_s: float = 0.5
    # ... at least this share of the time the missing sentence's text takes at a brisk 15 chars/s
    min_speech_share: float = 0.3
    brisk_chars_per_s: float = 15.0
    # Whisper's language ID this sure of a language other than the target calls it a drift
    other_lid: float = 0.6
    # ... and the region is encoded at least this wide (frames of 10 ms; as the language check)
    region_frames: int = 300
    # speech this close to a said sentence's edge is that sentence's
    edge_s: float = 0.1


def claim(segments: list[SegmentResult], words: list[Word], speech: SpeechMap, x: np.ndarray, asr,
          lock: threading.Lock, lang: str, supported: set[str], options: UnclaimedOptions,
          usual: tuple[str, ...]) -> None:
    """Re-judge sentences called "not spoken" where unclaimed speech is (in place). `usual`:
    the languages an answer slips into (a cut-off word is "heard" as Russian, too)."""
    duration = len(x) / SR
    for i, seg in enumerate(segments):
        if seg.status != "truncated" or seg.start_s is not None:
            continue
        before = [s.end_s for s in segments[:i] if s.end_s is not None]
        after = [s.start_s for s in segments[i + 1:] if s.start_s is not None]
        a = (before[-1] if before else 0.0) + options.edge_s
        b = (after[0] if after else duration) - options.edge_s
        if b <= a:
            continue
        have = speech.speech_between(a, b)
        need = max(options.min_speech_s, options.min_speech_share * len(seg.text) / options.brisk_chars_per_s)
        if have < need:
            continue
        region = x[int(a * SR): int(b * SR)]
        with lock:
            enc, n = asr.encode(region, min_frames=options.region_frames)
            lid = [(code, p) for code, p in asr.detect_language(enc) if code in supported]
        if not lid:
            continue
        top, p = lid[0]
        prev = next((s for s in reversed(segments[:i]) if s.start_s is not None), None)
        if not after and prev is not None and prev.status == "drifted" and prev.heard_language == top:
            # the rest of the drift before it (its words' times are spread, not measured), then
            # the audio ended: this sentence was not said
            continue
        if top != lang and p >= options.other_lid and top in usual:
            with lock:
                heard = asr.decode_many(enc, n, [top])[top][1]
            seg.status, seg.heard, seg.heard_language, seg.confidence = "drifted", heard, top, CERTAIN
            seg.start_s, seg.end_s = _speech_span(speech, a, b)
            _mark(words, i, seg.start_s, seg.end_s)
        else:
            # a voice speaks there, in the target language or in none clearly: not the audio ending
            seg.confidence = UNCERTAIN


def _speech_span(speech: SpeechMap, a: float, b: float) -> tuple[float, float]:
    t = np.flatnonzero(speech.mask) * FRAME_S
    inside = t[(t >= a) & (t < b)]
    if not len(inside):
        return a, b
    return float(inside[0]), float(min(b, inside[-1] + FRAME_S))


def _mark(words: list[Word], si: int, a: float, b: float) -> None:
    """The sentence's words drifted, spread evenly over where it was said."""
    from app.verify.evidence import Status  # evidence -> options -> here: imported when used

    mine = [w for w in words if w.seg == si]
    if not mine:
        return
    step = (b - a) / len(mine)
    for k, w in enumerate(mine):
        w.status, w.start, w.end = Status.DRIFTED, a + k * step, a + (k + 1) * step
