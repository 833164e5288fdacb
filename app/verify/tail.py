"""Where the audio ended: which written words the voice after the last well-heard word
pays for at the answer's own speaking rate, and which are missing."""

from __future__ import annotations

import numpy as np

from app.verify.evidence import Status, Word, chars
from app.verify.options import VerifyOptions
from app.verify.timing import spread
from app.verify.voice import FRAMES_PER_S, voice_end, voiced_between


def anchors(words: list[Word], opt: VerifyOptions) -> list[int]:
    """Indices of the words that prove the audio got at least this far (docs/verifier.md, rule 4)."""
    seg_forced: dict[int, float] = {}
    for seg in {w.seg for w in words}:
        fs = [w.forced for w in words if w.seg == seg and w.forced is not None]
        if fs:
            seg_forced[seg] = float(np.mean(fs))

    def reliable(i: int) -> bool:
        # a sentence whose words the audio all but rules out is no anchor for where it
        # ended, even if a word or two matched (a translation's "morning" for "morning")
        if seg_forced.get(words[i].seg, 1.0) < opt.anchor_sentence_p:
            return False
        # a lone short word ("the", "a") matched out of context is no proof the audio
        # got this far: Whisper produces such words from foreign or garbled speech too
        if chars(words[i]) >= opt.anchor_chars:
            return True
        if words[i].forced is not None and words[i].forced >= opt.anchor_p:
            return True
        return any(0 <= j < len(words) and words[j].status == Status.OK for j in (i - 1, i + 1))

    return [i for i, w in enumerate(words) if w.status == Status.OK and reliable(i)]


def speaking_rate(words: list[Word], oks: list[int], voiced: np.ndarray, opt: VerifyOptions) -> float:
    """Voiced seconds per normalised letter, from the well-heard stretch (default rate_s)."""
    if len(oks) < opt.rate_min_anchors:
        return opt.rate_s
    first, last = oks[0], oks[-1]
    n = sum(chars(w) for w in words[first:last + 1])
    v = voiced_between(voiced, words[first].start or 0.0, words[last].end or 0.0)
    return float(np.clip(v / n, opt.rate_min_s, opt.rate_max_s)) if n > 0 and v > 0 else opt.rate_s


def paid_until(words: list[Word], last_ok: int, remaining: float, rate: float, share: float,
               opt: VerifyOptions) -> int:
    """The last written word the `remaining` seconds of voice after `last_ok` pay for."""
    cur_seg = words[last_ok].seg if last_ok >= 0 else -1
    spoken_until = last_ok
    i = last_ok + 1
    while i < len(words) and remaining > opt.pay_min_s:
        if words[i].seg == cur_seg:
            need = rate * chars(words[i])
            if remaining < opt.word_share * need:
                break
            remaining -= need
            spoken_until = i
            i += 1
            continue
        seg = words[i].seg
        seg_words = [k for k in range(i, len(words)) if words[k].seg == seg]
        need = rate * sum(chars(words[k]) for k in seg_words)
        # speech nobody could match before this sentence is most often the previous one said
        # at length in another language (translations run longer), not this one
        stretch = opt.foreign_spread if spoken_until > last_ok else 1.0
        # voice when no word matched at all is the first sentence said some other way (the whole
        # answer in the source language, 2 s for 2.7 s of Portuguese), not an answer cut before it
        bar = opt.first_segment_share if spoken_until < 0 else share * stretch
        if remaining < bar * need:
            break
        remaining -= need
        spoken_until = seg_words[-1]
        cur_seg = seg
        i = seg_words[-1] + 1
    return spoken_until


def assign_tail(words: list[Word], voiced: np.ndarray, opt: VerifyOptions) -> None:
    """Transcript words after the last well-heard word: spoken (differently) or missing?

    The voice left after the last matching word pays for them in order, at the
    utterance's own speaking rate; later sentences count as spoken only when at least
    segment_share of their expected time is there (a drifted sentence said in a shorter
    language still pays for it). What the voice cannot pay for is missing.
    """
    oks = anchors(words, opt)
    last_ok = oks[-1] if oks else -1
    if last_ok + 1 >= len(words):
        return
    t_after = words[last_ok].end if last_ok >= 0 and words[last_ok].end is not None else 0.0
    remaining = voiced_between(voiced, t_after, len(voiced) / FRAMES_PER_S)
    rate = speaking_rate(words, oks, voiced, opt)
    spoken_until = paid_until(words, last_ok, remaining, rate, opt.segment_share, opt)
    for w in words[spoken_until + 1:]:
        w.status = Status.MISSING
        w.start = w.end = None
    for w in words[last_ok + 1: spoken_until + 1]:
        if w.status == Status.OK:
            w.status = Status.SUB
    # words that are spoken but got no time (nothing heard after the last match)
    todo = [w for w in words[last_ok + 1: spoken_until + 1] if w.start is None]
    if todo:
        end = voice_end(voiced)
        spread(todo, max(t_after, 0.0), max(end, t_after))


def trim_unsaid_tail(words: list[Word], voiced: np.ndarray, opt: VerifyOptions) -> None:
    """The audio stopped half-way through a sentence: its last words come in a run the forced
    likelihood rules out, and the voice after the last supported word cannot pay for them at
    the utterance's speaking rate. Those it cannot pay for are missing (what free decoding put
    there is the last syllables misheard), so the sentence reads as cut, not as misspoken."""
    live = [i for i, w in enumerate(words) if w.status != Status.MISSING]
    if not live:
        return
    end = k = live[-1]
    while k >= 0 and words[k].forced is not None and words[k].forced < opt.rescue_p:
        k -= 1
    if k < 0 or end - k < opt.cut_run or words[k].end is None:
        return    # no run of unsupported words after a supported one
    remaining = voiced_between(voiced, words[k].end, len(voiced) / FRAMES_PER_S)
    rate = speaking_rate(words, anchors(words, opt), voiced, opt)
    until = paid_until(words[: end + 1], k, remaining, rate, opt.segment_share, opt)
    for w in words[until + 1: end + 1]:
        w.status = Status.MISSING
        w.start = w.end = None
