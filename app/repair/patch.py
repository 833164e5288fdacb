"""Strategy c: keep the original audio and replace only the flagged sentences.

Uses the verifier's segment times as cut points: a drifted or misspoken sentence's span
is replaced by speech of the exact sentence; a sentence that was never spoken is
inserted after the last sentence that was. Joins get short fades (no clicks) and a
short pause, like a sentence break.
"""

from __future__ import annotations

import numpy as np

from app.core.report import Report
from app.repair.speech import RATE, Speech

FADE_S = 0.012
GAP_S = 0.12
MARGIN_S = 0.04


def flagged_fraction(report: Report, include_doubtful: bool = False) -> float:
    """Share of transcript words inside flagged sentences (how much voice would change);
    `include_doubtful`: amber sentences too (a repair the user asked for)."""
    if not report.words:
        return 1.0
    chosen = report.differing_segments if include_doubtful else report.flagged_segments
    flagged = [(s.char_start, s.char_end) for s in chosen]
    inside = sum(1 for w in report.words if any(a <= w.char_start < b for a, b in flagged))
    return inside / len(report.words)


def _fade(x: np.ndarray, fade_in: bool, fade_out: bool) -> np.ndarray:
    n = min(len(x) // 2, int(FADE_S * RATE))
    if n <= 0:
        return x
    y = x.astype(np.float32)
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    if fade_in:
        y[:n] *= ramp
    if fade_out:
        y[-n:] *= ramp[::-1]
    return y.astype(np.int16)


def _s(seconds: float, limit: int) -> int:
    return int(min(max(0.0, seconds) * RATE, limit))


async def patch_audio(audio: np.ndarray, report: Report, transcript: str, speech: Speech,
                      language: str, voice: str | None = None, include_doubtful: bool = False) -> np.ndarray:
    """New audio where every flagged sentence (and, when asked, every amber one) is spoken
    exactly; the rest is untouched."""
    segments = report.segments
    pieces: list[np.ndarray] = []
    cursor = 0
    n = len(audio)
    gap = np.zeros(int(GAP_S * RATE), np.int16)
    for i, seg in enumerate(segments):
        if not (seg.flagged or (include_doubtful and seg.doubtful)):
            continue
        spoken_before = [s for s in segments[:i] if s.end_s is not None]
        spoken_after = [s for s in segments[i + 1:] if s.start_s is not None]
        if seg.start_s is not None:
            cut_start = _s(seg.start_s - MARGIN_S, n)
            if seg.status == "truncated" or seg.end_s is None:
                # cut short: drop its fragment, up to where the next spoken sentence starts
                cut_end = _s(spoken_after[0].start_s - MARGIN_S, n) if spoken_after else n
            else:
                cut_end = _s(seg.end_s + MARGIN_S, n)
        else:
            insert_at = _s(spoken_before[-1].end_s + MARGIN_S, n) if spoken_before else 0
            cut_start = max(cursor, insert_at)
            cut_end = cut_start if spoken_after else n   # nothing spoken after: drop the tail
        cut_start = max(cursor, cut_start)
        cut_end = max(cut_start, cut_end)
        sentence = transcript[seg.char_start:seg.char_end]
        new = await speech.speak(sentence, language, voice)
        pieces.append(_fade(audio[cursor:cut_start], fade_in=cursor > 0, fade_out=True))
        pieces.extend([gap, _fade(new, True, True), gap])
        cursor = cut_end
    pieces.append(_fade(audio[cursor:], fade_in=cursor > 0, fade_out=False))
    return np.concatenate([p for p in pieces if len(p)]).astype(np.int16) if pieces else audio.copy()
