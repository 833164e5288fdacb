"""When each written word was said: heard times, fitted to the voice, shared and re-timed."""

from __future__ import annotations

import numpy as np

from app.verify.evidence import Status, Word
from app.verify.options import VerifyOptions
from app.verify.voice import snap


def forced_span(w: Word, opt: VerifyOptions) -> tuple[float, float]:
    """Where the forced alignment puts the word (it has a forced start), at least min_word_s long."""
    return w.forced_start, max(w.forced_end or w.forced_start, w.forced_start + opt.min_word_s)  # type: ignore[return-value]


def lag_and_snap(w, voiced: np.ndarray, opt: VerifyOptions) -> None:
    """Whisper's attention alignment starts words early (median -100 ms on Piper's phoneme
    marks, -30 ms on espeak's): move the start on, within the word; then fit it to the voice."""
    w.start = min(w.start + opt.start_lag_s, max(w.start, w.end - opt.lag_keep_s))
    snap(w, voiced, opt)


def spread(group: list[Word], a: float, b: float) -> None:
    """Share the time a..b among the words by their written length."""
    total = sum(max(1, len(w.span.text)) for w in group)
    t = a
    for w in group:
        d = (b - a) * max(1, len(w.span.text)) / total
        w.start, w.end = t, t + d
        t += d


def place_times(words: list[Word], heard_words) -> None:
    """Each word's time from the heard words aligned to it; unheard words between their
    timed neighbours."""
    for w in words:
        if w.heard:
            w.start = min(heard_words[j].start for j in w.heard)
            w.end = max(heard_words[j].end for j in w.heard)
    # words sharing one heard word split its time by length
    i = 0
    while i < len(words):
        w = words[i]
        if w.heard:
            k = i
            while k + 1 < len(words) and words[k + 1].heard == w.heard:
                k += 1
            if k > i:
                spread(words[i:k + 1], w.start, w.end)
            i = k + 1
        else:
            i += 1
    # unheard words inside the audio: between their timed neighbours
    i = 0
    while i < len(words):
        if words[i].status == Status.GAP:
            k = i
            while k + 1 < len(words) and words[k + 1].status == Status.GAP:
                k += 1
            prev_end = next((words[p].end for p in range(i - 1, -1, -1) if words[p].end is not None), 0.0)
            nxt = next((words[p].start for p in range(k + 1, len(words)) if words[p].start is not None), None)
            if nxt is None:
                nxt = prev_end
            if nxt < prev_end:
                nxt = prev_end
            spread(words[i:k + 1], prev_end, nxt)
            i = k + 1
        else:
            i += 1


def retime_misplaced(words: list[Word], opt: VerifyOptions) -> None:
    """Free decoding sometimes skips a stretch (a sentence said in another language) and its
    words are then aligned to written words of the wrong sentence: "maison" timed at 2.0 s,
    inside the drifted sentence, while the forced alignment, which follows the transcript in
    order, puts it at 4.2 s where the voice is. A heard time that far from the forced one is
    the wrong word's: take the forced time, so the language check listens to the right audio."""
    for w in words:
        if w.start is not None and w.forced_start is not None and abs(w.start - w.forced_start) > opt.retime_s:
            w.start, w.end = forced_span(w, opt)
