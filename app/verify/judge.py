"""The verdict on each sentence from the evidence gathered: ok, truncated, misspoken or
drifted (docs/verifier.md numbers the rules)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.core.report import SegmentResult
from app.text.addresses import is_address
from app.text.segments import Span
from app.verify.evidence import Call, Status, Word, chars, dedupe
from app.verify.language import lead_read_as_source, reads_as
from app.verify.listen import unintelligible
from app.verify.options import VerifyOptions
from app.verify.tail import assign_tail
from app.verify.timing import forced_span, lag_and_snap
from app.verify.voice import voiced_between

# (call, the sentence's words, flagged words, strict=, lead=, cut_tail=) -> (language, heard text)
Identify = Callable[..., tuple[str | None, str]]


def plainly_said(call: Call) -> bool:
    """Is every written word supported by the audio so clearly that free decoding could not
    change the verdict? Then the words are ok, timed by the forced alignment (rule 13).

    The bar is what the full path needs to call every sentence ok: each word at least as
    likely as a rescued one (rescue_p) and aligned over voice, no lead-in the drift probe
    would check (lead_p), Whisper's language ID not doubting the target, and the voice
    paying for every word to the end. Anything short of that takes the full path; so does a
    number word unlikely as written: only free decoding can tell "50" said in words from
    "15" said instead (rule 10)."""
    opt, words, voiced = call.opt, call.words, call.voiced
    if dict(call.lid).get(call.lang, 0.0) < opt.foreign_lid:
        return False
    for w in words:
        if w.forced is None or w.forced < opt.rescue_p or w.forced_start is None:
            return False
        if voiced_between(voiced, *forced_span(w, opt)) <= 0:
            return False
    for si in range(len(call.segments)):
        if doubtful(lead(call.text, [w for w in words if w.seg == si], opt), opt):
            return False
    for w in words:
        w.status, w.sim = Status.OK, 1.0
        w.start, w.end = forced_span(w, opt)
        lag_and_snap(w, voiced, opt)
    assign_tail(words, voiced, opt)
    if any(w.status != Status.OK for w in words):
        return False
    call.unintelligible = unintelligible(words, call.lid, call.lang, opt)
    return True


def judge(call: Call, identify: Identify) -> list[SegmentResult]:
    """Every sentence's result; `identify` runs the language check (language.identify)."""
    return [judge_segment(call, si, seg, identify) for si, seg in enumerate(call.segments)]


def judge_segment(call: Call, si: int, seg: Span, identify: Identify) -> SegmentResult:
    opt = call.opt
    sw = [w for w in call.words if w.seg == si]
    spoken = [w for w in sw if w.status != Status.MISSING]
    res = SegmentResult(si, seg.text, seg.start, seg.end, "ok")
    if not spoken:
        res.status = "truncated"
        return res
    res.start_s = min(w.start for w in spoken if w.start is not None)
    res.end_s = max(w.end for w in spoken if w.end is not None)
    flagged = credible_flags(sw, opt)
    why = None
    if not flagged:
        flagged, why = probe(call, sw, spoken)
    cut = len(spoken) < len(sw)
    if flagged and why is None and not cut and not call.unintelligible \
            and not {id(w) for w in flagged} & {id(w) for w in lead(call.text, sw, opt)} \
            and plainly_misspoken(flagged, call.heard, call.lang, call.source, opt):
        for w in flagged:
            w.status = Status.MISSPOKEN
        res.status = "misspoken"
        res.heard = " ".join(dedupe([call.heard[j].text for w in sw for j in w.heard]))
    elif flagged:
        rule_on_flags(call, res, sw, flagged, why, identify)
    elif cut:
        res.status = "truncated"
    return res


def credible_flags(sw: list[Word], opt: VerifyOptions) -> list[Word]:
    """The sentence's words heard differently that are evidence of a fault, not of a
    mishearing; the others are set ok."""
    flagged = beyond_addresses(sw, [w for w in sw if w.status in (Status.SUB, Status.GAP)])
    if flagged and not ruled_out(flagged, opt):
        flagged = set_ok(flagged)   # heard differently, but the audio supports the written words
    if flagged and not spoken_len_ok(sw, flagged, opt):
        flagged = set_ok(flagged)   # one short misheard word in a sentence otherwise heard right
    return flagged


def rule_on_flags(call: Call, res: SegmentResult, sw: list[Word], flagged: list[Word],
                  why: str | None, identify: Identify) -> None:
    """Drifted, misspoken, truncated or misheard after all: the language check decides.
    `why`: the probe that flagged a sentence heard as written (see `probe`), or None."""
    lead_in = {id(w) for w in lead(call.text, sw, call.opt)}
    is_lead = why == "lead" or (why is None and {id(w) for w in flagged} <= lead_in)
    heard_lang, heard_text = None, ""
    if why is None and not is_lead and any(id(w) in lead_in for w in flagged):
        # a flagged lead-in ("Exactly," said in English before an Italian sentence) with a
        # flagged word further on: the region spanning both is mostly target speech, so
        # the lead-in is checked on its own first (rule 18)
        heard_lang, heard_text = identify(call, sw, [w for w in flagged if id(w) in lead_in], lead=True)
    if heard_lang is None or heard_lang == call.lang:
        spoken = [w for w in sw if w.status != Status.MISSING]
        cut_tail = len(spoken) < len(sw) and bool(spoken) and any(w is spoken[-1] for w in flagged)
        heard_lang, heard_text = identify(call, sw, flagged, strict=why is not None, lead=is_lead,
                                          cut_tail=cut_tail)
    drifted = heard_lang is not None and heard_lang != call.lang
    if not drifted and lead_read_as_source(call, flagged, lead_in):
        # "Danke," for "Thank you,": the target decoder itself wrote a source-language word there
        # (Whisper's ear and the decoders' comparison can miss a single foreign word); heard_text
        # is already what the sentence was heard as (rule 20)
        drifted, heard_lang = True, call.source
    if drifted and call.unintelligible and call.source and heard_lang != call.source:
        drifted = False   # a voice the recognizer cannot read: only the known suspect counts
    scored = [w.forced for w in flagged if w.forced is not None]
    misheard = bool(scored) and float(np.median(scored)) >= call.opt.misspoken_p
    cut = any(w.status == Status.MISSING for w in sw)
    if not drifted and (why or misheard or call.unintelligible):
        # heard as written, or in the right language with words the audio does not
        # rule out (narrow-band espeak "Please send" heard "Clean and"): nothing to flag
        set_ok(flagged)
        if cut:
            res.status = "truncated"
        return
    for w in flagged:
        w.status = Status.DRIFTED if drifted else Status.MISSPOKEN
    res.status = "drifted" if drifted else ("truncated" if cut else "misspoken")
    res.heard = heard_text
    res.heard_language = heard_lang if drifted else None


def probe(call: Call, sw: list[Word], spoken: list[Word]) -> tuple[list[Word], str | None]:
    """A sentence heard as written may still be a drift Whisper translated back: the words to
    check and why ("suspect": low likelihood; "lead": its lead-in; "whole": the utterance's
    language ID doubts the target), or ([], None) (rule 6)."""
    opt = call.opt
    flagged = beyond_addresses(sw, suspect_words(spoken, opt))
    if flagged:
        return flagged, "suspect"
    flagged = suspect_opener(call.text, sw, opt)
    if flagged:
        return flagged, "lead"
    if call.foreign:
        flagged = [w for w in spoken if w.start is not None]
        for w in flagged:
            w.status = Status.SUB
        return flagged, "whole" if flagged else None
    return [], None


def set_ok(flagged: list[Word]) -> list[Word]:
    """Clear these flags (misheard, not wrong); returns the empty list of flags left."""
    for w in flagged:
        w.status = Status.OK
    return []


def beyond_addresses(seg_words: list[Word], flagged: list[Word]) -> list[Word]:
    """Flags that rest only on the words of an e-mail or web address are no evidence: a voice
    reads a foreign address its own way ("soporte @ miempresa.com" by an English voice) and
    the recognizer spells what it heard, so neither can tell a slip from an accent there.
    Such flags are dropped; flags with any other word in them stand as they are."""
    if not flagged:
        return flagged
    address = set()
    for i, w in enumerate(seg_words):
        if w.span.text == "@" or is_address(w.span.text):
            address.add(id(w))
            if w.span.text == "@":       # "name @ host.com" with spaces: both neighbours too
                address.update(id(n) for n in seg_words[max(0, i - 1): i + 2])
    if all(id(w) in address for w in flagged):
        for w in flagged:
            if w.status in (Status.SUB, Status.GAP):
                w.status = Status.OK
        return []
    return flagged


def spoken_len_ok(seg_words: list[Word], flagged: list[Word], opt: VerifyOptions) -> bool:
    """Is the difference big enough to be real (not one misheard short word)?"""
    if len(flagged) * opt.flag_one_in >= len(seg_words):
        return True
    run = 0
    for w in seg_words:
        if w in flagged:
            run += 1
            if run >= opt.flag_run:
                return True
            if chars(w) >= opt.long_word_chars and (w.status == Status.GAP or w.sim < opt.unlike_sim):
                return True
            if w.forced is not None and w.forced < opt.misspoken_p and w.status == Status.SUB \
                    and w.sim < opt.other_word_sim and w.heard_p >= opt.heard_sure:
                return True     # heard as another word, and the written one is all but ruled out
            if other_number(w, opt) and w.heard_p >= opt.heard_sure:
                return True
        else:
            run = 0
    return False


def ruled_out(flagged: list[Word], opt: VerifyOptions) -> bool:
    """Do the forced likelihoods rule out at least half of these words (or score none)?
    Unsaid words score near zero; misheard ones (narrow-band, synthetic voices) 0.05–0.3
    (rule 3)."""
    scored = [w for w in flagged if w.forced is not None]
    if not scored:
        return True
    # a voiced stretch free decoding put no word to (it skips foreign words) is suspect at a
    # higher likelihood: "Exacto" scores 0.2 as "Exactly"
    return sum(w.forced < opt.misspoken_p or (w.status == Status.GAP and w.forced < opt.rescue_p)
               or other_number(w, opt) for w in scored) * opt.ruled_out_one_in >= len(scored)


def other_number(w: Word, opt: VerifyOptions) -> bool:
    """A number heard as another number ("15" for "fifty"; not "nuove" for "nove") that the
    audio does not support as written: the values differ, which no accent explains (the
    likelihood of "fifty" rose from 0.04 to 0.06 once scored with its punctuation, past the
    bar for a lone word)."""
    return (w.status == Status.SUB and w.heard_number and bool(w.tokens) and all(t.isdigit() for t in w.tokens)
            and w.sim < opt.other_word_sim and w.forced is not None and w.forced < opt.rescue_p)


def suspect_words(spoken: list[Word], opt: VerifyOptions) -> list[Word]:
    """Words of a sentence free decoding heard as written whose forced likelihood says the
    audio is something else (a translation of foreign speech): to be checked for drift."""
    scored = [w for w in spoken if w.forced is not None]
    if len(scored) < opt.suspect_min_words or float(np.mean([w.forced for w in scored])) >= opt.suspect_p:
        return []
    low = [w for w in scored if w.forced < opt.rescue_p and w.start is not None]
    if len(low) < opt.suspect_min_low:
        return []
    for w in low:
        w.status = Status.SUB
    return low


def lead(text: str, sw: list[Word], opt: VerifyOptions) -> list[Word]:
    """The sentence's lead-in: up to lead_words words before a comma ("Por supuesto,")."""
    words: list[Word] = []
    for w in sw[:opt.lead_words]:
        words.append(w)
        if text[w.span.end: w.span.end + 1] == ",":
            return words if len(words) < len(sw) else []
    return []


def suspect_opener(text: str, sw: list[Word], opt: VerifyOptions) -> list[Word]:
    """A short lead-in before a comma ("Exacto, it used to work…") the audio does not support:
    the realtime model's favourite drift, which Whisper, forced to the target language,
    happily translates back ("Of course" heard as "Por supuesto")."""
    opener = lead(text, sw, opt)
    if not opener or any(w.start is None for w in opener):
        return []
    if not doubtful(opener, opt):
        return []
    for w in opener:
        w.status = Status.SUB
    return opener


def doubtful(opener: list[Word], opt: VerifyOptions) -> bool:
    """Does a word of this lead-in score below lead_p as written (the drift probe checks it)?"""
    return any(w.forced is not None and w.forced < opt.lead_p for w in opener)


def plainly_misspoken(flagged: list[Word], heard_words, lang: str, source: str | None, opt: VerifyOptions) -> bool:
    """One or two words heard confidently as other words, the written ones all but ruled
    out by the forced likelihood, and nothing sounding like the source language there:
    the same language with other words, no language ID needed (rule 5)."""
    if len(flagged) > opt.misspoken_max_words or any(
            w.status != Status.SUB or w.heard_p < opt.heard_sure or w.forced is None or w.forced >= opt.rescue_p
            for w in flagged):
        return False
    heard = " ".join(dedupe([heard_words[j].text for w in flagged for j in w.heard]))
    return not reads_as(heard, source, lang, opt)
