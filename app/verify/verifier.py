"""Does the audio say what the transcript says? Speech recognition + alignment + language ID.

Steps (all off the UI thread; no Qt):
1. resample to 16 kHz; find where there is voice (10 ms energy frames);
2. the transcript's likelihood first: every written word (with its punctuation) scored
   against the audio in one teacher-forced pass; an answer plainly said as written is
   decided here, without free decoding (most answers; ~0.15 s instead of ~0.45 s);
   otherwise Whisper, forced to the transcript's language, greedy, no previous-text
   conditioning, on trimmed windows (see `asr.py`), with word times from cross-attention
   alignment;
3. align heard words to transcript words (`align.py`, fuzzy, accent- and
   punctuation-insensitive, symbols spelled out);
4. transcript words after the last heard audio are `missing`; words heard differently
   form regions whose language is identified (Whisper language ID on that slice of audio,
   a re-transcription in the candidate language, and lingua on the text) -> `drifted`
   or `misspoken`;
5. per-segment status with the rules of the `check` contract (shared/DESIGN.md).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.core.languages import UnknownLanguage, get_language
from app.core.memory import release_freed_memory
from app.core.report import Report, SegmentResult, WordResult
from app.text.addresses import is_address
from app.text.segments import Span, split_sentences, split_words
from app.verify.align import align_tokens
from app.verify.models import DEFAULT_MODEL, model_name, resolve_model
from app.verify.normalize import similarity, word_tokens

log = logging.getLogger(__name__)

SR = 16000
HOP = 160                 # 10 ms energy frames
OK_SIM = 0.55             # a transcript word is "spoken" when heard at least this similar
START_LAG = 0.06          # see _lag_and_snap
WINDOW_S = 28.0           # longest piece given to Whisper at once
_CONTROL_RE = re.compile(r"<\|[^|<>]{0,64}\|>")
FOREIGN_SPREAD = 1.5       # how much longer unmatched speech may run than the transcript's words
LATER_SEGMENT_SHARE = 0.8  # voice needed for a sentence after the last match to count as spoken
FORCED_SEGMENT_SHARE = 0.6  # ... when anchors need forced support (fewer false anchors to offset)
FIRST_SEGMENT_SHARE = 0.25  # ... for the first sentence when nothing matched: the voice is saying something
DRIFT_EVIDENCE = -0.15     # only flagged words get here: lean to "drifted" unless the target language explains them clearly better
TARGET_SURE_EVIDENCE = 0.3
REGION_FRAMES = 300   # a region is encoded padded to 3 s, not 10 s (a third of the encoder work)
FOREIGN_LID = 0.5     # below this language-ID share for the target, every sentence is checked
LEAD_P = 0.75         # a lead-in word ("Danke," for "Thank you,") this unlikely gets its language checked
_USUAL = ("en", "es", "fr", "de", "it", "pt")
SOURCE_SLACK = 0.35    # how much worse the source language may decode and still be preferred
SOURCE_BONUS = 0.1   # always tried as the language of a drift
UNREADABLE_LID = 0.2  # in a voice the recognizer cannot read, a drift needs Whisper's ear to hear it,
FLUENT = -1.0         # ... or a reading in that language this fluent (average token log-probability)
LEAD_LID = 0.6       # Whisper's language ID this sure of the source over a lead-in ...
LEAD_EVIDENCE = -0.5  # ... lowers the drift bar to this
EAR_SURE = 0.6       # Whisper's language ID hearing a whole sentence first in a language this surely
SOURCE_TEXT = 0.3    # heard text the text detector gives the source language this share of reads as the source
DRIFT_TEXT = 0.3     # a sentence's drift reading must read as that language to the text detector
SOURCE_EAR = 0.3     # ... Whisper's ear this sure of the source language over a sentence heard "as written"
TRANSLATED_EVIDENCE = 1.0  # ... and the source reading this much more fluent: a translation, not the words
CUT_LID = 0.1        # the last words before the audio stops drift only if Whisper's ear hears that language there
LOOKALIKE_SIM = 0.8  # a heard word less similar than this to the written one is a look-alike, not an accent
RETIME_S = 0.5       # a heard word time this far from the forced alignment's is a misalignment
ECHO_SIM = 0.6       # a decoded word this similar to one of the sentence's own is its echo
# Forced likelihood of the transcript (decision="forced"): Whisper scores each written word
# given the audio. Said words score 0.9+ with isolated dips; unsaid ones come in runs near 0.
RESCUE_P = 0.3        # a word free decoding heard differently, but the audio supports as written
ANCHOR_P = 0.6        # ... and counts as proof that the audio got this far
MISSPOKEN_P = 0.05    # a lone word this unlikely, heard as another word, was said differently
HEARD_SURE = 0.4      # ... when free decoding was at least this sure of the other word
WELL_HEARD_P = 0.5    # a word scoring this well as written was heard (for _unintelligible)
SUSPECT_P = 0.45      # a sentence heard "right" whose words average below this is checked for drift
                      # (Whisper translates foreign speech into the target language when forced to it)


def _supported() -> set[str]:
    from app.core.languages import LANGUAGES

    return set(LANGUAGES)


_SUPPORTED = _supported()


class VerifyError(ValueError):
    """Bad input to the verifier (unknown language, unusable audio); message is user-facing."""


@dataclass(slots=True)
class _Word:
    span: Span
    seg: int
    tokens: list[str]
    status: str = "missing"         # ok | sub | gap | missing ; later drifted/misspoken
    start: float | None = None
    end: float | None = None
    heard: list[int] = field(default_factory=list)   # indices into heard words
    sim: float = 0.0
    heard_p: float = 0.0            # free decoding's confidence in what it heard here
    forced: float | None = None     # probability of the written word given the audio (None: not scored)
    forced_start: float | None = None
    forced_end: float | None = None
    written: str = ""               # the word as the transcript writes it, with its punctuation
    heard_number: bool = False      # free decoding heard a number here


# --- voice activity ------------------------------------------------------------------------------


def voiced_frames(x: np.ndarray) -> np.ndarray:
    """Boolean per 10 ms frame: is there voice (energy well above the floor)?"""
    n = len(x) // HOP
    if n == 0:
        return np.zeros(0, dtype=bool)
    frames = x[: n * HOP].reshape(n, HOP)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    peak = float(np.percentile(rms, 99)) if n else 0.0
    floor = float(np.percentile(rms, 10))
    thr = max(0.004, floor * 3.0, peak * 0.05)
    return rms > thr


def _voiced_between(voiced: np.ndarray, a: float, b: float) -> float:
    i, j = max(0, int(a * 100)), min(len(voiced), int(np.ceil(b * 100)))
    return float(voiced[i:j].sum()) / 100.0 if j > i else 0.0


def _split_windows(voiced: np.ndarray, n_samples: int) -> list[tuple[int, int]]:
    """Cut long audio into ≤ WINDOW_S pieces at the quietest moment near each limit."""
    total = n_samples / SR
    if total <= WINDOW_S + 1.5:
        return [(0, n_samples)]
    out = []
    start = 0.0
    while total - start > WINDOW_S + 1.5:
        lo, hi = int((start + WINDOW_S - 8.0) * 100), int((start + WINDOW_S) * 100)
        seg = voiced[lo:hi].astype(np.int32)
        # longest run of silence in [lo, hi); else the end of the window
        best, best_len, run_start = hi, 0, None
        for k, v in enumerate(seg):
            if not v and run_start is None:
                run_start = k
            if (v or k == len(seg) - 1) and run_start is not None:
                length = k - run_start + (0 if v else 1)
                if length >= best_len:
                    best, best_len = lo + run_start + length // 2, length
                run_start = None
        cut = best / 100.0
        out.append((int(start * SR), int(cut * SR)))
        start = cut
    out.append((int(start * SR), n_samples))
    return out


# --- language identification of text ---------------------------------------------------------


def text_language(text: str) -> list[tuple[str, float]]:
    """Languages of the text heard, most likely first (the detector the engine uses too)."""
    if sum(c.isalpha() for c in text) < 4:
        return []
    from app.core.langid import confidences

    return confidences(text)[:5]


# --- the verifier ------------------------------------------------------------------------------


class Verifier:
    """Loads the speech model once (lazily) and verifies utterances; thread-safe."""

    def __init__(self, model_spec: str = DEFAULT_MODEL, threads: int | None = None,
                 progress: Callable[[int, int], None] | None = None, decision: str = "forced") -> None:
        """`decision`: "forced" weighs free decoding against the forced likelihood of the
        transcript; "free" is the older logic on free decoding alone (for comparison)."""
        self.model_spec = model_spec or DEFAULT_MODEL
        self.decision = decision
        self.threads = threads
        self._progress = progress
        self._asr = None
        self._load_lock = threading.Lock()
        self._verify_lock = threading.Lock()

    @property
    def engine(self) -> dict[str, str]:
        return {"asr": "faster-whisper", "model": model_name(self.model_spec)}

    def load(self, progress: Callable[[int, int], None] | None = None):
        """`progress`: for this load, instead of the one given at construction."""
        with self._load_lock:
            if self._asr is None:
                from app.verify.asr import THREADS, WhisperAsr

                directory = resolve_model(self.model_spec, progress or self._progress)
                self._asr = WhisperAsr(directory, self.threads or THREADS)
            return self._asr

    # -------------------------------------------------------------------------------------------
    def verify(self, transcript: str, audio: np.ndarray, sample_rate: int, language: str,
               source_language: str | None = None) -> Report:
        """`source_language`, when given, is the language the text was translated from: the
        one a realtime model drifts into, so it is the first suspect for unexplained speech."""
        t0 = time.monotonic()
        try:
            lang = get_language(language).code
        except UnknownLanguage as exc:
            raise VerifyError(str(exc)) from None
        x, duration = _prepare_audio(audio, sample_rate)
        transcript = transcript or ""
        words, segments = self._transcript_words(transcript, lang)
        report = Report("match", lang, duration, engine=self.engine)
        if not words:
            report.elapsed_s = time.monotonic() - t0
            return report
        source = source_language if source_language and source_language != lang else None
        call = _Call(transcript, lang, source, x, voiced_frames(x), words, segments)
        self._listen(call)
        seg_results = self._judge(call)
        report.segments = seg_results
        report.words = [WordResult(w.span.text, w.span.start, w.span.end, w.status,  # type: ignore[arg-type]
                                   w.start, w.end) for w in words]
        report.verdict = "mismatch" if any(s.flagged for s in seg_results) else "match"
        if len(call.windows) > 1:
            # a long answer leaves CTranslate2's freed buffers resident in the heap: give them back
            call.windows.clear()
            release_freed_memory()
        report.elapsed_s = time.monotonic() - t0
        return report

    def _listen(self, call: _Call) -> None:
        """Gather the evidence for every transcript word: heard, where, how likely as written."""
        words = call.words
        if call.voiced.sum() >= 10:   # at least 0.1 s of voice
            asr = self.load()
            with self._verify_lock:
                call.windows = self._encode(asr, call.x, call.voiced)
                decoded = None
                if self.decision == "forced" and len(call.windows) == 1:
                    # the transcript's likelihood first: most answers are said as written, and
                    # then free decoding (half the time of a verification) could only confirm it;
                    # it starts meanwhile on the other worker and is stopped if not needed
                    a, _b, enc, n = call.windows[0]
                    ahead = asr.decode_ahead(enc, n, call.lang, offset=a)
                    try:
                        self._force_written(asr, words, call.windows, call.lang)
                        call.lid = asr.detect_language(enc)
                        if _plainly_said(call):
                            return
                        _forget_times(words)
                        decoded = [ahead.result()]
                    finally:
                        ahead.cancel()    # a no-op once it has finished
                call.heard = self._recognize(asr, call.windows, call.voiced, call.lang, decoded)
        self._align(words, call.heard, call.lang)
        self._place_times(words, call.heard, call.voiced)
        if self.decision == "forced" and call.windows:
            with self._verify_lock:
                asr = self.load()
                if not call.lid:
                    self._force_written(asr, words, call.windows, call.lang)
                    # Whisper's language ID over the whole (first) window: clean answers score their
                    # language 0.85+; below half, some sentence is likely in another language even
                    # where free decoding, forced to the target, heard a fluent translation of it
                    call.lid = asr.detect_language(call.windows[0][2])
                self._force_numbers(asr, words, call.windows, call.lang, call.heard)
            call.foreign = dict(call.lid).get(call.lang, 0.0) < FOREIGN_LID
            _doubt_lookalikes(words)
            _rescue(words, call.voiced)
            _retime_misplaced(words)
        # a drifted sentence said in a shorter language (English for Spanish) still pays for it
        _assign_tail(words, call.voiced, FORCED_SEGMENT_SHARE if self.decision == "forced" else LATER_SEGMENT_SHARE)
        if self.decision == "forced":
            _trim_unsaid_tail(words, call.voiced)
            call.unintelligible = _unintelligible(words, call.lid, call.lang)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("words: %s", " ".join(
                f"{w.span.text}[{w.status} {w.sim:.2f} f={-1 if w.forced is None else w.forced:.2f}]" for w in words))
            log.debug("heard: %s", " ".join(f"{h.text}({h.probability:.2f})" for h in call.heard))

    # --- steps -----------------------------------------------------------------------------------
    @staticmethod
    def _transcript_words(text: str, lang: str) -> tuple[list[_Word], list[Span]]:
        controls = [(m.start(), m.end()) for m in _CONTROL_RE.finditer(text)]
        segments = []
        words: list[_Word] = []
        for seg in split_sentences(text):
            seg_words = []
            for sp in split_words(text, seg.start, seg.end):
                if any(a < sp.end and sp.start < b for a, b in controls):
                    continue
                toks = word_tokens(sp.text, lang)
                if toks:
                    seg_words.append(sp)
                    words.append(_Word(sp, len(segments), toks))
            if seg_words:
                segments.append(seg)
        _attach_punctuation(text, words)
        return words, segments

    @staticmethod
    def _encode(asr, x: np.ndarray, voiced: np.ndarray) -> list:
        """The audio's windows with voice in them: [(start s, end s, encoder output, mel frames)]."""
        windows = []
        for a, b in _split_windows(voiced, len(x)):
            if _voiced_between(voiced, a / SR, b / SR) < 0.1:
                continue
            enc, n = asr.encode(x[a:b])
            # every window's encoder output is kept for the forced pass (2.9 MB per 28 s window):
            # encoding later windows again when scored measured RTF 0.085 -> 0.141 on 190 s and
            # did not lower the peak, which is one window's encoder self-attention (~70 MB)
            windows.append((a / SR, b / SR, enc, n))
        return windows

    @staticmethod
    def _recognize(asr, windows, voiced: np.ndarray, lang: str, decoded: list | None = None) -> list:
        """Free decoding of every window (unless `decoded` already holds it) -> heard words, timed."""
        if decoded is None:
            decoded = [asr.decode(enc, n, lang, offset=a) for a, _b, enc, n in windows]
        heard = [w for result in decoded for w in result.words]
        kept = []
        for w in heard:
            # a word over pure silence is Whisper imagining things
            if _voiced_between(voiced, w.start - 0.06, w.end + 0.06) < 0.02:
                continue
            _lag_and_snap(w, voiced)
            kept.append(w)
        return kept

    @staticmethod
    def _force_written(asr, words: list[_Word], windows, lang: str) -> None:
        """Score every transcript word as written against the audio window it falls in.

        A sentence with unlikely words is scored once more on its own: after a sentence said
        in another language (or misheard), the transcript so far no longer matches the audio
        and the next sentence, said as written, scored 0.0-0.6 in the joint pass."""
        for k, idx in _window_owners(words, windows).items():
            a, _b, enc, n = windows[k]
            scored = asr.force(enc, n, lang, [words[i].written for i in idx], offset=a)
            for i, fw in zip(idx, scored, strict=False):
                words[i].forced = fw.prob
                words[i].forced_start, words[i].forced_end = fw.start, fw.end
            alone = [grp for grp in _sentences(words, idx)[1:]
                     if any(words[i].forced < RESCUE_P for i in grp)]
            if not alone:
                continue
            rescored = asr.force_many(enc, n, lang, [[words[i].written for i in grp] for grp in alone], offset=a)
            for grp, fws in zip(alone, rescored, strict=True):
                for i, fw in zip(grp, fws, strict=False):
                    w = words[i]
                    if fw.prob > w.forced:
                        if w.forced < RESCUE_P <= fw.prob:
                            w.forced_start, w.forced_end = fw.start, fw.end
                        w.forced = fw.prob

    @staticmethod
    def _force_numbers(asr, words: list[_Word], windows, lang: str, heard) -> None:
        """Whisper writes numbers as digits: "cinquenta" said scores near 0 as written, high as
        "50"; the number counts as said if either form is."""
        for k, idx in _window_owners(words, windows).items():
            a, _b, enc, n = windows[k]
            digits = {i: _as_digits(words[i], heard) for i in idx}
            if not any(digits.values()):
                continue
            texts = [words[i].written.replace(words[i].span.text, digits[i]) if digits[i] else words[i].written
                     for i in idx]
            for i, fw in zip(idx, asr.force(enc, n, lang, texts, offset=a), strict=False):
                if digits[i]:
                    words[i].forced = max(words[i].forced or 0.0, fw.prob)

    @staticmethod
    def _align(words: list[_Word], heard_words, lang: str) -> None:
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
        _pair_leftovers(words, heard_words, heard, owner_h, lang)
        for i, w in enumerate(words):
            if not w.heard:
                w.status = "gap"
            elif i in sims:
                s = sims[i]
                w.sim = sum(s) / len(s)
                w.heard_p = float(np.mean([heard_words[j].probability for j in w.heard]))
                w.status = "ok" if min(s) >= OK_SIM or (sum(s) / len(s) >= 0.7) else "sub"
            else:   # paired with a leftover heard word
                w.heard_p = float(np.mean([heard_words[j].probability for j in w.heard]))
                w.status = "sub"
            w.heard_number = any(c.isdigit() for j in w.heard for c in heard_words[j].text)

    @staticmethod
    def _place_times(words: list[_Word], heard_words, voiced: np.ndarray) -> None:
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
                    group = words[i:k + 1]
                    _spread(group, w.start, w.end)
                i = k + 1
            else:
                i += 1
        # unheard words inside the audio: between their timed neighbours
        i = 0
        while i < len(words):
            if words[i].status == "gap":
                k = i
                while k + 1 < len(words) and words[k + 1].status == "gap":
                    k += 1
                prev_end = next((words[p].end for p in range(i - 1, -1, -1) if words[p].end is not None), 0.0)
                nxt = next((words[p].start for p in range(k + 1, len(words)) if words[p].start is not None), None)
                if nxt is None:
                    nxt = prev_end
                if nxt < prev_end:
                    nxt = prev_end
                _spread(words[i:k + 1], prev_end, nxt)
                i = k + 1
            else:
                i += 1

    def _judge(self, call: _Call) -> list[SegmentResult]:
        return [self._judge_segment(call, si, seg) for si, seg in enumerate(call.segments)]

    def _judge_segment(self, call: _Call, si: int, seg: Span) -> SegmentResult:
        sw = [w for w in call.words if w.seg == si]
        spoken = [w for w in sw if w.status != "missing"]
        res = SegmentResult(si, seg.text, seg.start, seg.end, "ok")
        if not spoken:
            res.status = "truncated"
            return res
        res.start_s = min(w.start for w in spoken if w.start is not None)
        res.end_s = max(w.end for w in spoken if w.end is not None)
        flagged = self._credible_flags(sw)
        probe = None
        if not flagged and self.decision == "forced":
            flagged, probe = _probe(call, sw, spoken)
        cut = len(spoken) < len(sw)
        if flagged and probe is None and self.decision == "forced" and not cut and not call.unintelligible \
                and not {id(w) for w in flagged} & {id(w) for w in _lead(call.text, sw)} \
                and _plainly_misspoken(flagged, call.heard, call.lang, call.source):
            for w in flagged:
                w.status = "misspoken"
            res.status = "misspoken"
            res.heard = " ".join(_dedupe([call.heard[j].text for w in sw for j in w.heard]))
        elif flagged:
            self._rule_on_flags(call, res, sw, flagged, probe)
        elif cut:
            res.status = "truncated"
        return res

    def _credible_flags(self, sw: list[_Word]) -> list[_Word]:
        """The sentence's words heard differently that are evidence of a fault, not of a
        mishearing; the others are set ok."""
        flagged = _beyond_addresses(sw, [w for w in sw if w.status in ("sub", "gap")])
        if flagged and self.decision == "forced" and not _ruled_out(flagged):
            flagged = _set_ok(flagged)   # heard differently, but the audio supports the written words
        if flagged and not spoken_len_ok(sw, flagged):
            flagged = _set_ok(flagged)   # one short misheard word in a sentence otherwise heard right
        return flagged

    def _rule_on_flags(self, call: _Call, res: SegmentResult, sw: list[_Word], flagged: list[_Word],
                       probe: str | None) -> None:
        """Drifted, misspoken, truncated or misheard after all: the language check decides."""
        lead_in = {id(w) for w in _lead(call.text, sw)}
        lead = probe == "lead" or (probe is None and {id(w) for w in flagged} <= lead_in)
        heard_lang, heard_text = None, ""
        if probe is None and not lead and any(id(w) in lead_in for w in flagged):
            # a flagged lead-in ("Exactly," said in English before an Italian sentence) with a
            # flagged word further on: the region spanning both is mostly target speech, so
            # the lead-in is checked on its own first
            heard_lang, heard_text = self._identify(call, sw, [w for w in flagged if id(w) in lead_in], lead=True)
        if heard_lang is None or heard_lang == call.lang:
            spoken = [w for w in sw if w.status != "missing"]
            cut_tail = len(spoken) < len(sw) and bool(spoken) and any(w is spoken[-1] for w in flagged)
            heard_lang, heard_text = self._identify(call, sw, flagged, strict=probe is not None, lead=lead,
                                                    cut_tail=cut_tail)
        drifted = heard_lang is not None and heard_lang != call.lang
        if not drifted and self.decision == "forced" and _lead_read_as_source(call, flagged, lead_in):
            # "Danke," for "Thank you,": the target decoder itself wrote a source-language word there
            # (Whisper's ear and the decoders' comparison can miss a single foreign word); heard_text
            # is already what the sentence was heard as
            drifted, heard_lang = True, call.source
        if drifted and call.unintelligible and call.source and heard_lang != call.source:
            drifted = False   # a voice the recognizer cannot read: only the known suspect counts
        scored = [w.forced for w in flagged if w.forced is not None]
        misheard = self.decision == "forced" and bool(scored) and float(np.median(scored)) >= MISSPOKEN_P
        cut = any(w.status == "missing" for w in sw)
        if not drifted and (probe or misheard or call.unintelligible):
            # heard as written, or in the right language with words the audio does not
            # rule out (narrow-band espeak "Please send" heard "Clean and"): nothing to flag
            _set_ok(flagged)
            if cut:
                res.status = "truncated"
            return
        for w in flagged:
            w.status = "drifted" if drifted else "misspoken"
        res.status = "drifted" if drifted else ("truncated" if cut else "misspoken")
        res.heard = heard_text
        res.heard_language = heard_lang if drifted else None

    def _identify(self, call: _Call, seg_words: list[_Word], flagged: list[_Word],
                  strict: bool = False, lead: bool = False, cut_tail: bool = False) -> tuple[str | None, str]:
        """Which language were the flagged words spoken in? -> (code or None, heard text).
        `strict`: a probe of words free decoding heard as written; `lead`: the probe is a
        sentence's lead-in, not a whole sentence; `cut_tail`: the flagged words run up to
        where the audio stops in the middle of the sentence."""
        asr = self.load()
        lang = call.lang
        a, b = _region(call, flagged, tight=lead)
        region = call.x[int(a * SR): int(b * SR)]
        heard_target = " ".join(call.heard[j].text for w in flagged for j in w.heard)
        with self._verify_lock:
            enc, n = asr.encode(region, min_frames=REGION_FRAMES if self.decision == "forced" else None)
            lid = [(code, p) for code, p in asr.detect_language(enc) if code in _SUPPORTED]
        probs = dict(lid)
        candidates = self._candidates(call, lid)
        seg_heard = _dedupe([call.heard[j].text for w in seg_words for j in w.heard])
        if all(self._drift_bar(call, lid, c, strict, lead, cut_tail) == float("inf") for c in candidates if c != lang):
            # Whisper's language ID already rules a drift out, whatever the decoders would say:
            # the batched decode (most of a probe's time) cannot change the verdict (issue 11)
            log.debug("identify %.2f-%.2f lid=%s: no drift possible, not decoded", a, b, lid[:3])
            return lang, " ".join(seg_heard)
        with self._verify_lock:
            scores = asr.decode_many(enc, n, candidates)
        best, evidence = _best_other(call, scores, candidates, probs)
        log.debug("identify %.2f-%.2f lid=%s heard=%r target=%.2f best=%s %.2f %r ev=%.2f",
                  a, b, lid[:3], heard_target, scores[lang][0], best, scores[best][0], scores[best][1], evidence)
        if call.source in scores and not heard_target.strip() and scores[call.source][1].strip() and (not strict or lead):
            # voiced audio the target-language decoder could not put a single word to, while the
            # source language reads words there: the model slipped into the source language
            # (for a lead-in probe too: "Bien sûr," for "Of course," left "Of" unheard; the
            # probe's language-ID guard in _drift_bar still applies)
            best, evidence = call.source, max(evidence, DRIFT_EVIDENCE + 1.0)
        # a voice the recognizer cannot read: a drift needs Whisper's ear or a fluent reading
        unheard = call.unintelligible and probs.get(best, 0.0) < UNREADABLE_LID and scores[best][0] < FLUENT
        if evidence > self._drift_bar(call, lid, best, strict, lead, cut_tail) and not _echo(scores[best][1], seg_words, lang) \
                and not unheard and (lead or _reads_as_spoken(scores[best][1], best, lid)):
            # what the segment sounds like: heard words before and after the region,
            # the region itself as decoded in the other language
            before = [call.heard[j].text for w in seg_words if w.end is not None and w.end <= a + 0.05
                      for j in w.heard]
            after = [call.heard[j].text for w in seg_words if w.start is not None and w.start >= b - 0.05
                     for j in w.heard]
            parts = _dedupe(before) + [scores[best][1].strip()] + _dedupe(after)
            return best, " ".join(p for p in parts if p).strip()
        return lang, " ".join(seg_heard)

    def _candidates(self, call: _Call, lid: list[tuple[str, float]]) -> list[str]:
        """Languages to decode the region in: the target, the source, what Whisper hears."""
        source = call.source
        candidates = [call.lang] + ([source] if source in _SUPPORTED else [])
        if source in _SUPPORTED and self.decision == "forced":
            # the source language is the known suspect: besides it, only what Whisper hears
            # among the languages a realtime answer slips into (an accented voice is "heard"
            # as Japanese or Thai; no answer here ever drifted there)
            candidates += [code for code, p in lid[:2] if code not in candidates and p >= 0.2 and code in _USUAL]
        else:
            candidates += [code for code, p in lid[:2] if code not in candidates and p >= 0.5]
            candidates += [code for code in _USUAL if code not in candidates]
        return candidates[:7]

    def _drift_bar(self, call: _Call, lid: list[tuple[str, float]], best: str, strict: bool, lead: bool,
                   cut_tail: bool = False) -> float:
        """How much evidence a drift into `best` needs."""
        probs = dict(lid)
        forced = self.decision == "forced"
        if forced and cut_tail and not any(code == best and p >= CUT_LID for code, p in lid[:2]):
            # the audio stops inside the sentence: its last syllables, cut, decode as anything
            # ("atrasou de no-" as Spanish "Hazouji"); only Whisper's own ear makes them a drift
            return float("inf")
        heard_first = bool(lid) and lid[0][0] == best
        # Whisper's language ID sure of the target language: only clear evidence makes it a drift
        bar = TARGET_SURE_EVIDENCE if probs.get(call.lang, 0.0) >= 0.8 and forced else DRIFT_EVIDENCE
        if forced and call.source and best != call.source and not (heard_first and lid[0][1] >= 0.5):
            bar = max(bar, TARGET_SURE_EVIDENCE)   # the source language is the suspect; others need clear evidence
        if forced and lead and best == call.source and heard_first and lid[0][1] >= LEAD_LID:
            # a lead-in ("Exacto,") Whisper hears as the source language: the seed's own fault.
            # The region (at least 1 s) also holds the target words after it, which pull the
            # decoders' comparison towards the target
            bar = min(bar, LEAD_EVIDENCE)
        if not strict:
            return bar
        # a probe of words free decoding heard as written: Whisper's language ID must not
        # hear the target language there ("Okay" decodes as Spanish "ok" just as well)
        if probs.get(call.lang, 0.0) >= 0.1 and not heard_first:
            return float("inf")
        if best != call.source:
            bar = max(bar, TARGET_SURE_EVIDENCE)   # a language nobody typed in: clear evidence only
        if not lead and not (heard_first and lid[0][1] >= EAR_SURE and probs.get(call.lang, 0.0) < 0.2):
            if best == call.source and probs.get(best, 0.0) >= SOURCE_EAR and probs.get(call.lang, 0.0) < 0.2:
                # Whisper, made to write the target, translates the source language it hears
                # ("We need to buy more coffee" written "Nós precisamos comprar mais café"):
                # its ear half-hearing the source and a far better reading in it say drifted
                return max(bar, TRANSLATED_EVIDENCE)
            return float("inf")   # a whole sentence heard fluently: only Whisper's own ear decides
        return bar


@dataclass(slots=True)
class _Call:
    """One verification: its inputs and the evidence the steps gather and share."""

    text: str
    lang: str
    source: str | None
    x: np.ndarray                  # mono float32 at 16 kHz
    voiced: np.ndarray             # voice per 10 ms frame
    words: list[_Word]
    segments: list[Span]
    heard: list = field(default_factory=list)      # free decoding's words
    windows: list = field(default_factory=list)    # (start s, end s, encoder output, mel frames)
    lid: list = field(default_factory=list)        # Whisper's language ID over the first window
    foreign: bool = False          # Whisper's language ID doubts the target language overall
    unintelligible: bool = False   # the recognizer cannot read this voice (see _unintelligible)

    @property
    def duration(self) -> float:
        return len(self.x) / SR


def _prepare_audio(audio: np.ndarray | None, sample_rate: int) -> tuple[np.ndarray, float]:
    """Mono float32 at 16 kHz, and the input's duration in seconds."""
    if not sample_rate or int(sample_rate) < 1000:
        raise VerifyError(f"implausible sample rate {sample_rate!r}")
    pcm = np.asarray(audio if audio is not None else np.zeros(0, np.int16))
    if pcm.ndim > 1:
        pcm = pcm.reshape(len(pcm), -1).mean(axis=1)
    duration = len(pcm) / float(sample_rate)
    x = pcm.astype(np.float32) / 32768.0 if pcm.dtype == np.int16 else pcm.astype(np.float32)
    if len(x) and int(sample_rate) != SR:
        from app.audio.resample import resample

        x = resample(x, int(sample_rate), SR)
    return np.nan_to_num(np.asarray(x, dtype=np.float32)), duration


def _attach_punctuation(text: str, words: list[_Word]) -> None:
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
        piece = _CONTROL_RE.sub(" ", text[starts[k]:end])
        w.written = " ".join(piece.split()) or w.span.text


def _sentences(words: list[_Word], idx: list[int]) -> list[list[int]]:
    """The word indices `idx` grouped by sentence, in order."""
    groups: list[list[int]] = []
    for i in idx:
        if groups and words[groups[-1][-1]].seg == words[i].seg:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _window_owners(words: list[_Word], windows) -> dict[int, list[int]]:
    """Which audio window each transcript word falls in (by its time; untimed words stay
    with the window before): {window index: [word indices]}."""
    owner: dict[int, list[int]] = {}
    k = 0
    for i, w in enumerate(words):
        t = w.start
        if t is not None:
            while k + 1 < len(windows) and t >= windows[k + 1][0]:
                k += 1
        owner.setdefault(k, []).append(i)
    return owner


def _forced_span(w: _Word) -> tuple[float, float]:
    """Where the forced alignment puts the word (it has a forced start), at least 50 ms long."""
    return w.forced_start, max(w.forced_end or w.forced_start, w.forced_start + 0.05)  # type: ignore[return-value]


def _lag_and_snap(w, voiced: np.ndarray) -> None:
    """Whisper's attention alignment starts words early (median -100 ms on Piper's phoneme
    marks, -30 ms on espeak's): move the start on, within the word; then fit it to the voice."""
    w.start = min(w.start + START_LAG, max(w.start, w.end - 0.03))
    _snap(w, voiced)


def _plainly_said(call: _Call) -> bool:
    """Is every written word supported by the audio so clearly that free decoding could not
    change the verdict? Then the words are ok, timed by the forced alignment.

    The bar is what the full path needs to call every sentence ok: each word at least as
    likely as a rescued one (RESCUE_P) and aligned over voice, no lead-in the drift probe
    would check (LEAD_P), Whisper's language ID not doubting the target, and the voice
    paying for every word to the end. Anything short of that takes the full path; so does a
    number word unlikely as written: only free decoding can tell "50" said in words from
    "15" said instead (rule 10)."""
    words, voiced = call.words, call.voiced
    if dict(call.lid).get(call.lang, 0.0) < FOREIGN_LID:
        return False
    for w in words:
        if w.forced is None or w.forced < RESCUE_P or w.forced_start is None:
            return False
        if _voiced_between(voiced, *_forced_span(w)) <= 0:
            return False
    for si in range(len(call.segments)):
        if _doubtful(_lead(call.text, [w for w in words if w.seg == si])):
            return False
    for w in words:
        w.status, w.sim = "ok", 1.0
        w.start, w.end = _forced_span(w)
        _lag_and_snap(w, voiced)
    _assign_tail(words, voiced, FORCED_SEGMENT_SHARE)
    if any(w.status != "ok" for w in words):
        return False
    call.unintelligible = _unintelligible(words, call.lid, call.lang)
    return True


def _forget_times(words: list[_Word]) -> None:
    """Undo what `_plainly_said` set (the forced likelihoods stay): the full path starts afresh."""
    for w in words:
        w.status, w.sim, w.heard_p = "missing", 0.0, 0.0
        w.start = w.end = None
        w.heard = []
        w.heard_number = False


def _set_ok(flagged: list[_Word]) -> list[_Word]:
    """Clear these flags (misheard, not wrong); returns the empty list of flags left."""
    for w in flagged:
        w.status = "ok"
    return []


def _probe(call: _Call, sw: list[_Word], spoken: list[_Word]) -> tuple[list[_Word], str | None]:
    """A sentence heard as written may still be a drift Whisper translated back: the words to
    check and why ("suspect": low likelihood; "lead": its lead-in; "whole": the utterance's
    language ID doubts the target), or ([], None)."""
    flagged = _beyond_addresses(sw, _suspect_words(spoken))
    if flagged:
        return flagged, "suspect"
    flagged = _suspect_opener(call.text, sw)
    if flagged:
        return flagged, "lead"
    if call.foreign:
        flagged = [w for w in spoken if w.start is not None]
        for w in flagged:
            w.status = "sub"
        return flagged, "whole" if flagged else None
    return [], None


def _region(call: _Call, flagged: list[_Word], tight: bool = False) -> tuple[float, float]:
    """The stretch of audio to identify: the flagged words, at least 1 s, with a neighbour
    whose timing looks smeared (Whisper glued the foreign bit to it). `tight`: a lead-in
    ("Exactly," said before an Italian sentence) is checked without its neighbours, whose
    target-language words would outweigh it."""
    words, duration = call.words, call.duration
    a = min(w.start for w in flagged if w.start is not None)
    b = max(w.end for w in flagged if w.end is not None)
    first, last = words.index(flagged[0]), words.index(flagged[-1])
    before = words[first - 1] if first > 0 and not tight else None
    after = words[last + 1] if last + 1 < len(words) and not tight else None
    if before is not None and before.start is not None and before.end - before.start > 0.6:
        a = min(a, before.start)
    if after is not None and after.start is not None and after.end is not None and after.end - after.start > 0.6:
        b = max(b, after.end)
    if b - a < 1.0:
        pad = (1.0 - (b - a)) / 2
        a, b = max(0.0, a - pad), min(duration, b + pad)
    return max(0.0, a - 0.1), min(duration, b + 0.1)


def _best_other(call: _Call, scores: dict[str, tuple[float, str]], candidates: list[str],
                probs: dict[str, float]) -> tuple[str, float]:
    """The language other than the target that explains the region best, and how much better
    than the target it does (decoding score, text language, Whisper's language ID)."""
    lang, source = call.lang, call.source
    best = max((c for c in candidates if c != lang), key=lambda c: scores[c][0])
    if source in scores and best != source and scores[source][0] >= scores[best][0] - SOURCE_SLACK:
        best = source      # near-tie: the source language is the known way to drift
    margin = scores[best][0] - scores[lang][0] + (SOURCE_BONUS if best == source else 0.0)
    tl = text_language(scores[best][1])
    text_ok = bool(tl) and tl[0][0] == best
    return best, margin + (0.15 if text_ok else 0.0) + 0.3 * (probs.get(best, 0.0) - probs.get(lang, 0.0))


def _echo(decoded: str, seg_words: list[_Word], lang: str) -> bool:
    """Is the other language's reading of the region only words of the sentence already heard
    as said, respelled ("Atrazouj" for "atrasou" where the audio stops after "atrasou de")?
    Then it is the target language's last words decoded with foreign spelling, not a drift.
    A real drift says a word not already accounted for ("Exacto" for the flagged "Exactly")."""
    heard = word_tokens(decoded, lang)
    if not heard:
        return False
    written = [t for w in seg_words if w.status == "ok" for t in w.tokens]
    return all(max((similarity(h, t) for t in written), default=0.0) >= ECHO_SIM for h in heard)


def _lead_read_as_source(call: _Call, flagged: list[_Word], lead_in: set[int]) -> bool:
    """A flagged lead-in whose words free decoding (forced to the target language) wrote as a
    word of the source language: the seed's own fault, the lead-in said in the language typed."""
    if not call.source or call.unintelligible:
        return False
    heard = " ".join(_dedupe([call.heard[j].text for w in flagged if id(w) in lead_in for j in w.heard]))
    return _reads_as(heard, call.source, call.lang)


def _reads_as_spoken(reading: str, language: str, lid: list[tuple[str, float]]) -> bool:
    """Is a sentence's reading in another language plausibly speech in it? Words said in a
    language decode as words of it: unless Whisper's ear plainly hears that language, a
    reading that is gibberish to the text detector ("polabiho" for "bureau") is the target
    language said unclearly."""
    if lid and lid[0][0] == language and lid[0][1] >= EAR_SURE:
        return True
    return dict(text_language(reading)).get(language, 0.0) >= DRIFT_TEXT


def _reads_as(heard: str, source: str | None, lang: str) -> bool:
    """Does the text detector read this heard text as the source language rather than the target?"""
    tl = dict(text_language(heard))
    return bool(source) and tl.get(source, 0.0) >= SOURCE_TEXT and tl.get(source, 0.0) > tl.get(lang, 0.0)


def _plainly_misspoken(flagged: list[_Word], heard_words, lang: str, source: str | None) -> bool:
    """One or two words heard confidently as other words, the written ones all but ruled
    out by the forced likelihood, and nothing sounding like the source language there:
    the same language with other words (no language ID needed)."""
    if len(flagged) > 2 or any(w.status != "sub" or w.heard_p < HEARD_SURE or w.forced is None
                               or w.forced >= RESCUE_P for w in flagged):
        return False
    heard = " ".join(_dedupe([heard_words[j].text for w in flagged for j in w.heard]))
    return not _reads_as(heard, source, lang)


# --- where the audio ended ---------------------------------------------------------------------


def _assign_tail(words: list[_Word], voiced: np.ndarray, share: float = LATER_SEGMENT_SHARE) -> None:
    """Transcript words after the last well-heard word: spoken (differently) or missing?

    The voice left after the last matching word pays for them in order, at the
    utterance's own speaking rate; later sentences count as spoken only when at least
    `share` of their expected time is there. What the voice cannot pay for is missing.
    """
    oks = _anchors(words)
    last_ok = oks[-1] if oks else -1
    if last_ok + 1 >= len(words):
        return
    t_after = words[last_ok].end if last_ok >= 0 and words[last_ok].end is not None else 0.0
    remaining = _voiced_between(voiced, t_after, len(voiced) / 100.0)
    rate = _speaking_rate(words, oks, voiced)
    spoken_until = _paid_until(words, last_ok, remaining, rate, share)
    for w in words[spoken_until + 1:]:
        w.status = "missing"
        w.start = w.end = None
    for w in words[last_ok + 1: spoken_until + 1]:
        if w.status == "ok":
            w.status = "sub"
    # words that are spoken but got no time (nothing heard after the last match)
    todo = [w for w in words[last_ok + 1: spoken_until + 1] if w.start is None]
    if todo:
        idx = np.nonzero(voiced)[0]
        end = (idx[-1] + 1) / 100.0 if len(idx) else len(voiced) / 100.0
        _spread(todo, max(t_after, 0.0), max(end, t_after))


def _trim_unsaid_tail(words: list[_Word], voiced: np.ndarray) -> None:
    """The audio stopped half-way through a sentence: its last words come in a run the forced
    likelihood rules out, and the voice after the last supported word cannot pay for them at
    the utterance's speaking rate. Those it cannot pay for are missing (what free decoding put
    there is the last syllables misheard), so the sentence reads as cut, not as misspoken."""
    live = [i for i, w in enumerate(words) if w.status != "missing"]
    if not live:
        return
    end = k = live[-1]
    while k >= 0 and words[k].forced is not None and words[k].forced < RESCUE_P:
        k -= 1
    if k < 0 or end - k < 2 or words[k].end is None:
        return    # no run of at least two unsupported words after a supported one
    remaining = _voiced_between(voiced, words[k].end, len(voiced) / 100.0)
    rate = _speaking_rate(words, _anchors(words), voiced)
    until = _paid_until(words[: end + 1], k, remaining, rate, FORCED_SEGMENT_SHARE)
    for w in words[until + 1: end + 1]:
        w.status = "missing"
        w.start = w.end = None


def _unintelligible(words: list[_Word], lid: list[tuple[str, float]], lang: str) -> bool:
    """Audio the recognizer cannot read (eSpeak French: "Les enfants jouent dans le jardin"
    heard "Les morts, au point de chanter", its language called Thai): nowhere in what was
    spoken do two consecutive written words score well, and Whisper's language ID does not
    hear another of the usual languages instead. Low likelihoods there say "cannot read this
    voice", not "these words are missing": no word is called misspoken, and a drift needs the
    source language. Truncation is still judged by the voice's length."""
    run = 0
    for w in words:
        good = w.status != "missing" and w.forced is not None and w.forced >= WELL_HEARD_P
        run = run + 1 if good else 0
        if run >= 2:
            return False
    top = lid[0] if lid else ("", 0.0)
    return not (top[0] in _USUAL and top[0] != lang and top[1] >= 0.5)


def _as_digits(w: _Word, heard_words) -> str | None:
    """A number written in words ("cinquenta") as Whisper writes it ("50"), else None; also
    None where free decoding heard a number there (then the values decide: "15" for "fifty")."""
    if not w.tokens or not all(t.isdigit() for t in w.tokens) or any(c.isdigit() for c in w.span.text):
        return None
    if any(c.isdigit() for j in w.heard for c in heard_words[j].text):
        return None
    return " ".join(w.tokens)


def _anchors(words: list[_Word]) -> list[int]:
    """Indices of the words that prove the audio got at least this far."""
    seg_forced: dict[int, float] = {}
    for seg in {w.seg for w in words}:
        fs = [w.forced for w in words if w.seg == seg and w.forced is not None]
        if fs:
            seg_forced[seg] = float(np.mean(fs))

    def reliable(i: int) -> bool:
        # a sentence whose words the audio all but rules out is no anchor for where it
        # ended, even if a word or two matched (a translation's "morning" for "morning")
        if seg_forced.get(words[i].seg, 1.0) < SUSPECT_P / 2:
            return False
        # a lone short word ("the", "a") matched out of context is no proof the audio
        # got this far: Whisper produces such words from foreign or garbled speech too
        if len("".join(words[i].tokens)) >= 4:
            return True
        if words[i].forced is not None and words[i].forced >= ANCHOR_P:
            return True
        return any(0 <= j < len(words) and words[j].status == "ok" for j in (i - 1, i + 1))

    return [i for i, w in enumerate(words) if w.status == "ok" and reliable(i)]


def _chars(w: _Word) -> int:
    return len("".join(w.tokens))


def _speaking_rate(words: list[_Word], oks: list[int], voiced: np.ndarray) -> float:
    """Voiced seconds per normalised character, from the well-heard stretch (default 0.07)."""
    if len(oks) < 3:
        return 0.07
    first, last = oks[0], oks[-1]
    chars = sum(_chars(w) for w in words[first:last + 1])
    v = _voiced_between(voiced, words[first].start or 0.0, words[last].end or 0.0)
    return float(np.clip(v / chars, 0.04, 0.12)) if chars > 0 and v > 0 else 0.07


def _paid_until(words: list[_Word], last_ok: int, remaining: float, rate: float, share: float) -> int:
    """The last transcript word the voice after `last_ok` pays for."""
    cur_seg = words[last_ok].seg if last_ok >= 0 else -1
    spoken_until = last_ok
    i = last_ok + 1
    while i < len(words) and remaining > 0.05:
        if words[i].seg == cur_seg:
            need = rate * _chars(words[i])
            if remaining < 0.5 * need:
                break
            remaining -= need
            spoken_until = i
            i += 1
            continue
        seg = words[i].seg
        seg_words = [k for k in range(i, len(words)) if words[k].seg == seg]
        need = rate * sum(_chars(words[k]) for k in seg_words)
        # speech nobody could match before this sentence is most often the previous one said
        # at length in another language (translations run longer), not this one
        spread = FOREIGN_SPREAD if spoken_until > last_ok else 1.0
        # voice when no word matched at all is the first sentence said some other way (the whole
        # answer in the source language, 2 s for 2.7 s of Portuguese), not an answer cut before it
        bar = FIRST_SEGMENT_SHARE if spoken_until < 0 else share * spread
        if remaining < bar * need:
            break
        remaining -= need
        spoken_until = seg_words[-1]
        cur_seg = seg
        i = seg_words[-1] + 1
    return spoken_until


def _ruled_out(flagged: list[_Word]) -> bool:
    """Do the forced likelihoods rule out at least half of these words (or score none)?
    Unsaid words score near zero; misheard ones (narrow-band, synthetic voices) 0.05–0.3."""
    scored = [w for w in flagged if w.forced is not None]
    if not scored:
        return True
    # a voiced stretch free decoding put no word to (it skips foreign words) is suspect at a
    # higher likelihood: "Exacto" scores 0.2 as "Exactly"
    return sum(w.forced < MISSPOKEN_P or (w.status == "gap" and w.forced < RESCUE_P) or _other_number(w)
               for w in scored) * 2 >= len(scored)


def _other_number(w: _Word) -> bool:
    """A number heard as another number ("15" for "fifty"; not "nuove" for "nove") that the
    audio does not support as written: the values differ, which no accent explains (the
    likelihood of "fifty" rose from 0.04 to 0.06 once scored with its punctuation, past the
    bar for a lone word)."""
    return (w.status == "sub" and w.heard_number and bool(w.tokens) and all(t.isdigit() for t in w.tokens)
            and w.sim < 0.5 and w.forced is not None and w.forced < RESCUE_P)


def _pair_leftovers(words: list[_Word], heard_words, heard: list[str], owner_h: list[int], lang: str) -> None:
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


def _suspect_words(spoken: list[_Word]) -> list[_Word]:
    """Words of a sentence free decoding heard as written whose forced likelihood says the
    audio is something else (a translation of foreign speech): to be checked for drift."""
    scored = [w for w in spoken if w.forced is not None]
    if len(scored) < 3 or float(np.mean([w.forced for w in scored])) >= SUSPECT_P:
        return []
    low = [w for w in scored if w.forced < RESCUE_P and w.start is not None]
    if len(low) < 2:
        return []
    for w in low:
        w.status = "sub"
    return low


def _lead(text: str, sw: list[_Word]) -> list[_Word]:
    """The sentence's lead-in: up to three words before a comma ("Por supuesto,")."""
    lead: list[_Word] = []
    for w in sw[:3]:
        lead.append(w)
        if text[w.span.end: w.span.end + 1] == ",":
            return lead if len(lead) < len(sw) else []
    return []


def _suspect_opener(text: str, sw: list[_Word]) -> list[_Word]:
    """A short lead-in before a comma ("Exacto, it used to work…") the audio does not support:
    the realtime model's favourite drift, which Whisper, forced to the target language,
    happily translates back ("Of course" heard as "Por supuesto")."""
    lead = _lead(text, sw)
    if not lead or any(w.start is None for w in lead):
        return []
    if not _doubtful(lead):
        return []
    for w in lead:
        w.status = "sub"
    return lead


def _doubtful(lead: list[_Word]) -> bool:
    """Does a word of this lead-in score below LEAD_P as written (the drift probe checks it)?"""
    return any(w.forced is not None and w.forced < LEAD_P for w in lead)


def _rescue(words: list[_Word], voiced: np.ndarray) -> None:
    """Words free decoding heard differently but the audio supports as written are spoken.

    Whisper base mishears synthetic and narrow-band speech ("dix minutes à pied" -> "di
    minuto mappie"); the forced likelihood of the written word tells a mishearing (0.3+)
    from a word that was not said (near 0). Rescued words without a heard time take the
    forced alignment's.
    """
    for w in words:
        if w.status in ("sub", "gap") and w.forced is not None and w.forced >= RESCUE_P:
            if w.status == "gap" and w.forced_start is not None:
                if _voiced_between(voiced, *_forced_span(w)) <= 0:
                    continue   # the alignment put it over silence: no support
                w.start, w.end = _forced_span(w)
            w.status = "ok"
            w.sim = max(w.sim, OK_SIM)


def _doubt_lookalikes(words: list[_Word]) -> None:
    """A word matched only by its look ("Este" heard for "Questo", "restaurante" for
    "ristorante", "pollofresco" for "pesce fresco") that the audio all but rules out as
    written was not said as written: a cognate in another language, or another word. It is
    heard differently, like any other. Near matches ("zerviert" for "serviert", 0.95) keep
    their word: that is an accent."""
    for w in words:
        if w.status == "ok" and w.heard and w.sim < LOOKALIKE_SIM and w.forced is not None and w.forced < MISSPOKEN_P \
                and not is_address(w.span.text):   # an address is read in the voice's own way
            w.status = "sub"


def _retime_misplaced(words: list[_Word]) -> None:
    """Free decoding sometimes skips a stretch (a sentence said in another language) and its
    words are then aligned to written words of the wrong sentence: "maison" timed at 2.0 s,
    inside the drifted sentence, while the forced alignment, which follows the transcript in
    order, puts it at 4.2 s where the voice is. A heard time that far from the forced one is
    the wrong word's: take the forced time, so the language check listens to the right audio."""
    for w in words:
        if w.start is not None and w.forced_start is not None and abs(w.start - w.forced_start) > RETIME_S:
            w.start, w.end = _forced_span(w)


def _dedupe(items: list[str]) -> list[str]:
    out: list[str] = []
    for it in items:
        if not out or out[-1] is not it and out[-1] != it:
            out.append(it)
    return out


def spoken_len_ok(seg_words: list[_Word], flagged: list[_Word]) -> bool:
    """Is the difference big enough to be real (not one misheard short word)?"""
    if len(flagged) * 3 >= len(seg_words):
        return True
    run = 0
    for w in seg_words:
        if w in flagged:
            run += 1
            if run >= 2:
                return True
            letters = len("".join(w.tokens))
            if letters >= 5 and (w.status == "gap" or w.sim < 0.35):
                return True
            if w.forced is not None and w.forced < MISSPOKEN_P and w.status == "sub" and w.sim < 0.5 \
                    and w.heard_p >= HEARD_SURE:
                return True     # heard as another word, and the written one is all but ruled out
            if _other_number(w) and w.heard_p >= HEARD_SURE:
                return True
        else:
            run = 0
    return False


def _spread(group: list[_Word], a: float, b: float) -> None:
    total = sum(max(1, len(w.span.text)) for w in group)
    t = a
    for w in group:
        d = (b - a) * max(1, len(w.span.text)) / total
        w.start, w.end = t, t + d
        t += d


def _snap(w, voiced: np.ndarray) -> None:
    """Move a word's start to its voice onset and its end to its voice offset."""
    i, j = int(round(w.start * 100)), int(round(w.end * 100))
    i, j = max(0, i), min(len(voiced), j)
    if j - i < 3:
        return
    idx = np.nonzero(voiced[i:j])[0]
    if len(idx) == 0:
        return
    ns, ne = (i + idx[0]) / 100.0, (i + idx[-1] + 1) / 100.0
    if ne - ns >= 0.03:
        w.start, w.end = max(w.start, ns), min(w.end, ne)


_default: Verifier | None = None
_default_lock = threading.Lock()


def default_verifier() -> Verifier:
    global _default
    with _default_lock:
        if _default is None:
            _default = Verifier()
        return _default


def verify(transcript: str, audio: np.ndarray, sample_rate: int, language: str,
           source_language: str | None = None) -> Report:
    """Verify with the shared default verifier (bundled Whisper base, loaded on first use)."""
    return default_verifier().verify(transcript, audio, sample_rate, language, source_language)


def _beyond_addresses(seg_words: list[_Word], flagged: list[_Word]) -> list[_Word]:
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
            if w.status in ("sub", "gap"):
                w.status = "ok"
        return []
    return flagged

