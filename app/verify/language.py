"""Which language were the flagged words said in? Whisper's language ID of that stretch of
audio, a decoding of it in each candidate language, and the text detector on what was
heard; the bar a drift must clear (docs/verifier.md, rules 6, 7, 15, 17-20, 22, 23)."""

from __future__ import annotations

import logging
import threading

from app.verify.evidence import Call, Status, Word, dedupe
from app.verify.normalize import similarity, word_tokens
from app.verify.options import DEFAULT_OPTIONS, VerifyOptions
from app.verify.voice import SR

log = logging.getLogger(__name__)


def _supported() -> set[str]:
    from app.core.languages import LANGUAGES

    return set(LANGUAGES)


SUPPORTED = _supported()


def text_language(text: str, opt: VerifyOptions | None = None) -> list[tuple[str, float]]:
    """Languages of the text heard, most likely first (the detector the engine uses too)."""
    opt = opt or DEFAULT_OPTIONS
    if sum(c.isalpha() for c in text) < opt.text_min_letters:
        return []
    from app.core.langid import confidences

    return confidences(text)[:opt.text_languages]


def identify(call: Call, asr, lock: threading.Lock, seg_words: list[Word], flagged: list[Word],
             strict: bool = False, lead: bool = False, cut_tail: bool = False) -> tuple[str | None, str]:
    """Which language were the flagged words spoken in? -> (code or None, heard text).
    `strict`: a probe of words free decoding heard as written; `lead`: the probe is a
    sentence's lead-in, not a whole sentence; `cut_tail`: the flagged words run up to
    where the audio stops in the middle of the sentence."""
    opt, lang = call.opt, call.lang
    a, b = region(call, flagged, tight=lead)
    audio = call.x[int(a * SR): int(b * SR)]
    heard_target = " ".join(call.heard[j].text for w in flagged for j in w.heard)
    with lock:
        enc, n = asr.encode(audio, min_frames=opt.region_frames)
        lid = [(code, p) for code, p in asr.detect_language(enc) if code in SUPPORTED]
    probs = dict(lid)
    tried = candidates(call, lid)
    seg_heard = dedupe([call.heard[j].text for w in seg_words for j in w.heard])
    if all(drift_bar(call, lid, c, strict, lead, cut_tail) == float("inf") for c in tried if c != lang):
        # Whisper's language ID already rules a drift out, whatever the decoders would say:
        # the batched decode (most of a probe's time) cannot change the verdict (rule 7)
        log.debug("identify %.2f-%.2f lid=%s: no drift possible, not decoded", a, b, lid[:3])
        return lang, " ".join(seg_heard)
    with lock:
        scores = asr.decode_many(enc, n, tried)
    best, evidence = best_other(call, scores, tried, probs)
    log.debug("identify %.2f-%.2f lid=%s heard=%r target=%.2f best=%s %.2f %r ev=%.2f",
              a, b, lid[:3], heard_target, scores[lang][0], best, scores[best][0], scores[best][1], evidence)
    if call.source in scores and not heard_target.strip() and scores[call.source][1].strip() and (not strict or lead):
        # voiced audio the target-language decoder could not put a single word to, while the
        # source language reads words there: the model slipped into the source language
        # (for a lead-in probe too: "Bien sûr," for "Of course," left "Of" unheard; the
        # probe's language-ID guard in drift_bar still applies)
        best, evidence = call.source, max(evidence, opt.drift_evidence + opt.slip_margin)
    # a voice the recognizer cannot read: a drift needs Whisper's ear or a fluent reading
    unheard = call.unintelligible and probs.get(best, 0.0) < opt.unreadable_lid and scores[best][0] < opt.fluent
    bar = drift_bar(call, lid, best, strict, lead, cut_tail)
    if evidence > bar and not echo(scores[best][1], seg_words, lang, opt) \
            and not unheard and (lead or reads_as_spoken(scores[best][1], best, lid, opt)):
        # what the segment sounds like: heard words before and after the region,
        # the region itself as decoded in the other language
        before = [call.heard[j].text for w in seg_words if w.end is not None and w.end <= a + opt.context_slack_s
                  for j in w.heard]
        after = [call.heard[j].text for w in seg_words if w.start is not None and w.start >= b - opt.context_slack_s
                 for j in w.heard]
        parts = dedupe(before) + [scores[best][1].strip()] + dedupe(after)
        if seg_words:
            si = seg_words[0].seg
            call.drift_ear[si] = max(call.drift_ear.get(si, 0.0), probs.get(best, 0.0))
            call.drift_margin[si] = max(call.drift_margin.get(si, float("-inf")), evidence - bar)
        return best, " ".join(p for p in parts if p).strip()
    return lang, " ".join(seg_heard)


def candidates(call: Call, lid: list[tuple[str, float]]) -> list[str]:
    """Languages to decode the region in: the target, the source, what Whisper hears."""
    opt, source = call.opt, call.source
    tried = [call.lang] + ([source] if source in SUPPORTED else [])
    top = lid[:opt.ear_top]
    if source in SUPPORTED:
        # the source language is the known suspect: besides it, only what Whisper hears
        # among the languages a realtime answer slips into (an accented voice is "heard"
        # as Japanese or Thai; no answer here ever drifted there)
        tried += [code for code, p in top if code not in tried and p >= opt.candidate_lid
                  and code in opt.usual_languages]
    else:
        tried += [code for code, p in top if code not in tried and p >= opt.candidate_lid_unsourced]
        tried += [code for code in opt.usual_languages if code not in tried]
    return tried[:opt.max_candidates]


def drift_bar(call: Call, lid: list[tuple[str, float]], best: str, strict: bool, lead: bool,
              cut_tail: bool = False) -> float:
    """How much evidence a drift into `best` needs (inf: none is enough)."""
    opt, target = call.opt, call.lang
    probs = dict(lid)
    if cut_tail and not any(code == best and p >= opt.cut_lid for code, p in lid[:opt.ear_top]):
        # the audio stops inside the sentence: its last syllables, cut, decode as anything
        # ("atrasou de no-" as Spanish "Hazouji"); only Whisper's own ear makes them a drift
        return float("inf")
    heard_first = bool(lid) and lid[0][0] == best
    # Whisper's language ID sure of the target language: only clear evidence makes it a drift
    bar = opt.target_sure_evidence if probs.get(target, 0.0) >= opt.target_sure_lid else opt.drift_evidence
    if call.source and best != call.source and not (heard_first and lid[0][1] >= opt.heard_lid):
        bar = max(bar, opt.target_sure_evidence)   # the source language is the suspect; others need clear evidence
    if lead and best == call.source and heard_first and lid[0][1] >= opt.lead_lid:
        # a lead-in ("Exacto,") Whisper hears as the source language: said in the language
        # typed. The region (at least 1 s) also holds the target words after it, which pull
        # the decoders' comparison towards the target
        bar = min(bar, opt.lead_evidence)
    if not strict:
        return bar
    # a probe of words free decoding heard as written: Whisper's language ID must not
    # hear the target language there ("Okay" decodes as Spanish "ok" just as well)
    if probs.get(target, 0.0) >= opt.probe_target_lid and not heard_first:
        return float("inf")
    if best != call.source:
        bar = max(bar, opt.target_sure_evidence)   # a language nobody typed in: clear evidence only
    target_absent = probs.get(target, 0.0) < opt.target_absent_lid
    if not lead and not (heard_first and lid[0][1] >= opt.ear_sure and target_absent):
        if best == call.source and probs.get(best, 0.0) >= opt.source_ear and target_absent:
            # Whisper, made to write the target, translates the source language it hears
            # ("We need to buy more coffee" written "Nós precisamos comprar mais café"):
            # its ear half-hearing the source and a far better reading in it say drifted
            return max(bar, opt.translated_evidence)
        return float("inf")   # a whole sentence heard fluently: only Whisper's own ear decides
    return bar


def region(call: Call, flagged: list[Word], tight: bool = False) -> tuple[float, float]:
    """The stretch of audio to identify: the flagged words, at least region_min_s, with a
    neighbour whose timing looks smeared (Whisper glued the foreign bit to it). `tight`: a
    lead-in ("Exactly," said before an Italian sentence) is checked without its neighbours,
    whose target-language words would outweigh it."""
    opt, words, duration = call.opt, call.words, call.duration
    a = min(w.start for w in flagged if w.start is not None)
    b = max(w.end for w in flagged if w.end is not None)
    first, last = words.index(flagged[0]), words.index(flagged[-1])
    before = words[first - 1] if first > 0 and not tight else None
    after = words[last + 1] if last + 1 < len(words) and not tight else None
    if before is not None and before.start is not None and before.end - before.start > opt.smeared_s:
        a = min(a, before.start)
    if after is not None and after.start is not None and after.end is not None \
            and after.end - after.start > opt.smeared_s:
        b = max(b, after.end)
    if b - a < opt.region_min_s:
        pad = (opt.region_min_s - (b - a)) / 2
        a, b = max(0.0, a - pad), min(duration, b + pad)
    return max(0.0, a - opt.region_pad_s), min(duration, b + opt.region_pad_s)


def best_other(call: Call, scores: dict[str, tuple[float, str]], tried: list[str],
               probs: dict[str, float]) -> tuple[str, float]:
    """The language other than the target that explains the region best, and how much better
    than the target it does (decoding score, text language, Whisper's language ID)."""
    opt, lang, source = call.opt, call.lang, call.source
    best = max((c for c in tried if c != lang), key=lambda c: scores[c][0])
    if source in scores and best != source and scores[source][0] >= scores[best][0] - opt.source_slack:
        best = source      # near-tie: the source language is the known way to drift
    margin = scores[best][0] - scores[lang][0] + (opt.source_bonus if best == source else 0.0)
    tl = text_language(scores[best][1], opt)
    text_ok = bool(tl) and tl[0][0] == best
    return best, margin + (opt.text_bonus if text_ok else 0.0) \
        + opt.lid_weight * (probs.get(best, 0.0) - probs.get(lang, 0.0))


def echo(decoded: str, seg_words: list[Word], lang: str, opt: VerifyOptions = DEFAULT_OPTIONS) -> bool:
    """Is the other language's reading of the region only words of the sentence already heard
    as said, respelled ("Atrazouj" for "atrasou" where the audio stops after "atrasou de")?
    Then it is the target language's last words decoded with foreign spelling, not a drift.
    A real drift says a word not already accounted for ("Exacto" for the flagged "Exactly")."""
    heard = word_tokens(decoded, lang)
    if not heard:
        return False
    written = [t for w in seg_words if w.status == Status.OK for t in w.tokens]
    return all(max((similarity(h, t) for t in written), default=0.0) >= opt.echo_sim for h in heard)


def reads_as_spoken(reading: str, language: str, lid: list[tuple[str, float]], opt: VerifyOptions) -> bool:
    """Is a sentence's reading in another language plausibly speech in it? Words said in a
    language decode as words of it: unless Whisper's ear plainly hears that language, a
    reading that is gibberish to the text detector ("polabiho" for "bureau") is the target
    language said unclearly."""
    if lid and lid[0][0] == language and lid[0][1] >= opt.ear_sure:
        return True
    return dict(text_language(reading, opt)).get(language, 0.0) >= opt.drift_text


def reads_as(heard: str, source: str | None, lang: str, opt: VerifyOptions) -> bool:
    """Does the text detector read this heard text as the source language rather than the target?"""
    tl = dict(text_language(heard, opt))
    return bool(source) and tl.get(source, 0.0) >= opt.source_text and tl.get(source, 0.0) > tl.get(lang, 0.0)


def lead_read_as_source(call: Call, flagged: list[Word], lead_in: set[int]) -> bool:
    """A flagged lead-in whose words free decoding (forced to the target language) wrote as a
    word of the source language: the lead-in said in the language typed."""
    if not call.source or call.unintelligible:
        return False
    heard = " ".join(dedupe([call.heard[j].text for w in flagged if id(w) in lead_in for j in w.heard]))
    return reads_as(heard, call.source, call.lang, call.opt)
