"""Gathering the evidence for every written word: the transcript's words, the audio encoded
once per window, the transcript scored as written (forced likelihood), free decoding, the
alignment of what was heard to what was written, and what the likelihood says of it."""

from __future__ import annotations

import numpy as np

from app.text.addresses import is_address
from app.text.segments import CONTROL_TOKEN_RE, Span, split_sentences, split_words
from app.verify.align import align_tokens
from app.verify.evidence import Status, Window, Word
from app.verify.normalize import word_tokens
from app.verify.options import VerifyOptions
from app.verify.timing import forced_span, lag_and_snap
from app.verify.voice import SR, split_windows, voiced_between

CONTROL_RE = CONTROL_TOKEN_RE   # Whisper control tokens typed into a transcript


# --- the transcript ----------------------------------------------------------------------------


def transcript_words(text: str, lang: str) -> tuple[list[Word], list[Span]]:
    """The transcript's words (each with its sentence index) and its sentences with words."""
    controls = [(m.start(), m.end()) for m in CONTROL_RE.finditer(text)]
    segments = []
    words: list[Word] = []
    for seg in split_sentences(text):
        seg_words = []
        for sp in split_words(text, seg.start, seg.end):
            if any(a < sp.end and sp.start < b for a, b in controls):
                continue
            toks = word_tokens(sp.text, lang)
            if toks:
                seg_words.append(sp)
                words.append(Word(sp, len(segments), toks))
        if seg_words:
            segments.append(seg)
    attach_punctuation(text, words)
    return words, segments


def attach_punctuation(text: str, words: list[Word]) -> None:
    """Each word as it is written, with the punctuation around it ("lunch.", "¿Puedes"),
    for scoring the transcript against the audio: Whisper writes the full stop before the
    next sentence's first word, and without it that word scored near 0 in clean speech."""
    starts = []
    for k, w in enumerate(words):
        s = w.span.start
        floor = words[k - 1].span.end if k else 0
        while s > floor and not text[s - 1].isspace() and not text[s - 1].isalnum():
            s -= 1
        starts.append(s)
    for k, w in enumerate(words):
        end = starts[k + 1] if k + 1 < len(words) else len(text)
        piece = CONTROL_RE.sub(" ", text[starts[k]:end])
        w.written = " ".join(piece.split()) or w.span.text


# --- the audio ---------------------------------------------------------------------------------


def encode(asr, x: np.ndarray, voiced: np.ndarray, opt: VerifyOptions) -> list[Window]:
    """The audio's windows with voice in them, encoded."""
    windows = []
    for a, b in split_windows(voiced, len(x), opt):
        if voiced_between(voiced, a / SR, b / SR) < opt.min_voice_s:
            continue
        enc, n = asr.encode(x[a:b])
        # every window's encoder output is kept for the forced pass (2.9 MB per 28 s window):
        # encoding later windows again when scored measured RTF 0.085 -> 0.141 on 190 s and
        # did not lower the peak, which is one window's encoder self-attention (~70 MB)
        windows.append(Window(a / SR, b / SR, enc, n))
    return windows


def recognize(asr, windows: list[Window], voiced: np.ndarray, lang: str, opt: VerifyOptions,
              decoded: list | None = None) -> list:
    """Free decoding of every window (unless `decoded` already holds it) -> heard words, timed."""
    if decoded is None:
        decoded = [asr.decode(win.encoded, win.frames, lang, offset=win.start_s) for win in windows]
    heard = [w for result in decoded for w in result.words]
    kept = []
    for w in heard:
        # a word over pure silence is Whisper imagining things
        if voiced_between(voiced, w.start - opt.imagined_pad_s, w.end + opt.imagined_pad_s) < opt.imagined_voice_s:
            continue
        lag_and_snap(w, voiced, opt)
        kept.append(w)
    return kept


# --- the transcript's likelihood ----------------------------------------------------------------


def force_written(asr, words: list[Word], windows: list[Window], lang: str, opt: VerifyOptions) -> None:
    """Score every transcript word as written against the audio window it falls in.

    A sentence with unlikely words is scored once more on its own: after a sentence said
    in another language (or misheard), the transcript so far no longer matches the audio
    and the next sentence, said as written, scored 0.0-0.6 in the joint pass."""
    for k, idx in window_owners(words, windows).items():
        win = windows[k]
        scored = asr.force(win.encoded, win.frames, lang, [words[i].written for i in idx], offset=win.start_s)
        for i, fw in zip(idx, scored, strict=False):
            words[i].forced = fw.prob
            words[i].forced_start, words[i].forced_end = fw.start, fw.end
        alone = [grp for grp in sentences(words, idx)[1:]
                 if any(words[i].forced < opt.rescue_p for i in grp)]
        if not alone:
            continue
        rescored = asr.force_many(win.encoded, win.frames, lang, [[words[i].written for i in grp] for grp in alone],
                                  offset=win.start_s)
        for grp, fws in zip(alone, rescored, strict=True):
            for i, fw in zip(grp, fws, strict=False):
                w = words[i]
                if fw.prob > w.forced:
                    if w.forced < opt.rescue_p <= fw.prob:
                        w.forced_start, w.forced_end = fw.start, fw.end
                    w.forced = fw.prob


def force_numbers(asr, words: list[Word], windows: list[Window], lang: str, heard) -> None:
    """Whisper writes numbers as digits: "cinquenta" said scores near 0 as written, high as
    "50"; the number counts as said if either form is."""
    for k, idx in window_owners(words, windows).items():
        win = windows[k]
        digits = {i: as_digits(words[i], heard) for i in idx}
        if not any(digits.values()):
            continue
        texts = [words[i].written.replace(words[i].span.text, digits[i]) if digits[i] else words[i].written
                 for i in idx]
        for i, fw in zip(idx, asr.force(win.encoded, win.frames, lang, texts, offset=win.start_s), strict=False):
            if digits[i]:
                words[i].forced = max(words[i].forced or 0.0, fw.prob)


def as_digits(w: Word, heard_words) -> str | None:
    """A number written in words ("cinquenta") as Whisper writes it ("50"), else None; also
    None where free decoding heard a number there (then the values decide: "15" for "fifty")."""
    if not w.tokens or not all(t.isdigit() for t in w.tokens) or any(c.isdigit() for c in w.span.text):
        return None
    if any(c.isdigit() for j in w.heard for c in heard_words[j].text):
        return None
    return " ".join(w.tokens)


def sentences(words: list[Word], idx: list[int]) -> list[list[int]]:
    """The word indices `idx` grouped by sentence, in order."""
    groups: list[list[int]] = []
    for i in idx:
        if groups and words[groups[-1][-1]].seg == words[i].seg:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def window_owners(words: list[Word], windows: list[Window]) -> dict[int, list[int]]:
    """Which audio window each transcript word falls in (by its time; untimed words stay
    with the window before): {window index: [word indices]}."""
    owner: dict[int, list[int]] = {}
    k = 0
    for i, w in enumerate(words):
        t = w.start
        if t is not None:
            while k + 1 < len(windows) and t >= windows[k + 1].start_s:
                k += 1
        owner.setdefault(k, []).append(i)
    return owner


# --- what was heard, against what was written ---------------------------------------------------


def align(words: list[Word], heard_words, lang: str, opt: VerifyOptions) -> None:
    """Link heard words to written ones (fuzzy, by tokens) and set each word's status."""
    written: list[str] = []
    owner_w: list[int] = []
    for i, w in enumerate(words):
        written.extend(w.tokens)
        owner_w.extend([i] * len(w.tokens))
    heard: list[str] = []
    owner_h: list[int] = []
    for j, hw in enumerate(heard_words):
        toks = word_tokens(hw.text, lang)
        heard.extend(toks)
        owner_h.extend([j] * len(toks))
    links = align_tokens(written, heard) if heard else []
    sims: dict[int, list[float]] = {}
    for k, link in enumerate(links):
        wi = owner_w[k]
        sims.setdefault(wi, []).append(link.sim if link.heard else 0.0)
        for h in link.heard:
            if owner_h[h] not in words[wi].heard:
                words[wi].heard.append(owner_h[h])
    pair_leftovers(words, heard_words, lang)
    for i, w in enumerate(words):
        if not w.heard:
            w.status = Status.GAP
        elif i in sims:
            s = sims[i]
            w.sim = sum(s) / len(s)
            w.heard_p = float(np.mean([heard_words[j].probability for j in w.heard]))
            w.status = Status.OK if min(s) >= opt.ok_sim or (sum(s) / len(s) >= opt.ok_mean_sim) else Status.SUB
        else:   # paired with a leftover heard word
            w.heard_p = float(np.mean([heard_words[j].probability for j in w.heard]))
            w.status = Status.SUB
        w.heard_number = any(c.isdigit() for j in w.heard for c in heard_words[j].text)


def pair_leftovers(words: list[Word], heard_words, lang: str) -> None:
    """A written word left unaligned with exactly one unclaimed heard word between the same
    neighbours was said as that word ("fifty" written, "15" heard: no letters in common, so
    the alignment prefers two gaps): pair them, so the word counts as heard differently."""
    claimed = {j for w in words for j in w.heard}
    last_h = -1
    i = 0
    while i < len(words):
        if words[i].heard:
            last_h = max(words[i].heard)
            i += 1
            continue
        k = i
        while k + 1 < len(words) and not words[k + 1].heard:
            k += 1
        nxt = min(words[k + 1].heard) if k + 1 < len(words) else len(heard_words)
        free = [j for j in range(last_h + 1, nxt) if j not in claimed and word_tokens(heard_words[j].text, lang)]
        if k == i and len(free) == 1:
            words[i].heard = free
            words[i].sim = 0.0
        i = k + 1


def forget_times(words: list[Word]) -> None:
    """Undo what the forced-only verdict (judge.plainly_said) set; the forced likelihoods
    stay: the full path starts afresh."""
    for w in words:
        w.status, w.sim, w.heard_p = Status.MISSING, 0.0, 0.0
        w.start = w.end = None
        w.heard = []
        w.heard_number = False


# --- what the likelihood says of what was heard ----------------------------------------------


def doubt_lookalikes(words: list[Word], opt: VerifyOptions) -> None:
    """A word matched only by its look ("Este" heard for "Questo", "restaurante" for
    "ristorante", "pollofresco" for "pesce fresco") that the audio all but rules out as
    written was not said as written: a cognate in another language, or another word. It is
    heard differently, like any other. Near matches ("zerviert" for "serviert", 0.95) keep
    their word: that is an accent."""
    for w in words:
        if w.status == Status.OK and w.heard and w.sim < opt.lookalike_sim and w.forced is not None \
                and w.forced < opt.misspoken_p \
                and not is_address(w.span.text):   # an address is read in the voice's own way
            w.status = Status.SUB


def rescue(words: list[Word], voiced: np.ndarray, opt: VerifyOptions) -> None:
    """Words free decoding heard differently but the audio supports as written are spoken.

    Whisper base mishears synthetic and narrow-band speech ("dix minutes à pied" -> "di
    minuto mappie"); the forced likelihood of the written word tells a mishearing (0.3+)
    from a word that was not said (near 0). Rescued words without a heard time take the
    forced alignment's.
    """
    for w in words:
        if w.status in (Status.SUB, Status.GAP) and w.forced is not None and w.forced >= opt.rescue_p:
            if w.status == Status.GAP and w.forced_start is not None:
                if voiced_between(voiced, *forced_span(w, opt)) <= 0:
                    continue   # the alignment put it over silence: no support
                w.start, w.end = forced_span(w, opt)
            w.status = Status.OK
            w.sim = max(w.sim, opt.ok_sim)


def unintelligible(words: list[Word], lid: list[tuple[str, float]], lang: str, opt: VerifyOptions) -> bool:
    """Audio the recognizer cannot read (eSpeak French: "Les enfants jouent dans le jardin"
    heard "Les morts, au point de chanter", its language called Thai): nowhere in what was
    spoken do two consecutive written words score well, and Whisper's language ID does not
    hear another of the usual languages instead. Low likelihoods there say "cannot read this
    voice", not "these words are missing": no word is called misspoken, and a drift needs the
    source language. Truncation is still judged by the voice's length."""
    run = 0
    for w in words:
        good = w.status != Status.MISSING and w.forced is not None and w.forced >= opt.well_heard_p
        run = run + 1 if good else 0
        if run >= opt.readable_run:
            return False
    top = lid[0] if lid else ("", 0.0)
    return not (top[0] in opt.usual_languages and top[0] != lang and top[1] >= opt.heard_lid)
