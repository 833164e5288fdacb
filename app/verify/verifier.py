"""Does the audio say what the transcript says? Speech recognition + alignment + language ID.

Steps (all off the UI thread; no Qt), one file each:
1. resample to 16 kHz; find where there is voice, 10 ms energy frames (`voice.py`);
2. the transcript's likelihood first: every written word (with its punctuation) scored
   against the audio in one teacher-forced pass; an answer plainly said as written is
   decided here, without free decoding (most answers; ~0.15 s instead of ~0.45 s);
   otherwise Whisper, forced to the transcript's language, greedy, no previous-text
   conditioning, on trimmed windows (`asr.py`), with word times from cross-attention
   alignment (`listen.py`, `timing.py`);
3. align heard words to transcript words (`align.py`, fuzzy, accent- and
   punctuation-insensitive, symbols spelled out);
4. transcript words after the last heard audio are `missing` (`tail.py`); words heard
   differently form regions whose language is identified (Whisper language ID on that
   slice of audio, a re-transcription in the candidate language, and lingua on the text:
   `language.py`) -> `drifted` or `misspoken`;
5. per-sentence status (`judge.py`).

docs/verifier.md numbers the decision rules; every threshold is a field of `VerifyOptions`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from app.core.languages import UnknownLanguage, get_language
from app.core.memory import release_freed_memory
from app.core.report import Report, WordResult
from app.verify import after_drift, bounds, certainty, judge, listen, unclaimed
from app.verify.evidence import Call, Word
from app.verify.language import SUPPORTED, candidates, identify, text_language
from app.verify.models import DEFAULT_MODEL, model_name, resolve_model
from app.verify.options import VerifyOptions
from app.verify.speech import speech_map, warm_speech_model
from app.verify.tail import assign_tail, trim_unsaid_tail
from app.verify.timing import place_times, retime_misplaced
from app.verify.voice import SR, voiced_between, voiced_frames, voiced_s

__all__ = ["SR", "Verifier", "VerifyError", "VerifyOptions", "default_verifier", "text_language", "verify",
           "voiced_frames"]

log = logging.getLogger(__name__)


class VerifyError(ValueError):
    """Bad input to the verifier (unknown language, unusable audio); message is user-facing."""


class Verifier:
    """Loads the speech model once (lazily) and verifies utterances; thread-safe."""

    def __init__(self, model_spec: str = DEFAULT_MODEL, threads: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 options: VerifyOptions | None = None) -> None:
        self.model_spec = model_spec or DEFAULT_MODEL
        self.options = options or VerifyOptions()
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
                warm_speech_model()
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
        opt = self.options
        report = Report("match", lang, duration, engine=self.engine)
        sentences = bounds.transcript_segments(transcript)
        if not sentences:
            report.elapsed_s = time.monotonic() - t0
            return report
        speech = speech_map(x, opt.speech)
        if not speech.said_anything():
            # silence, a tone, a buzz or noise: nothing of the transcript was said
            bounds.append_not_spoken(report, transcript, sentences, 0, lang)
        else:
            # only as much of the transcript as the audio could hold is listened for: time and
            # memory follow the audio's length, not the text's
            head = bounds.judged_end(sentences, duration, opt.bounds)
            voiced = voiced_frames(x, opt)
            self._judge_text(report, transcript[:head], x, voiced, lang, source_language, speech)
            bounds.append_not_spoken(report, transcript, sentences, head, lang)
            bounds.hold_to_speech(report, speech, opt.bounds, lambda a, b: voiced_between(voiced, a, b))
        report.settle_verdict()
        report.elapsed_s = time.monotonic() - t0
        return report

    def _judge_text(self, report: Report, transcript: str, x: np.ndarray, voiced: np.ndarray, lang: str,
                    source_language: str | None, speech) -> None:
        """The recognizer's verdict on `transcript` (all of it the audio could hold)."""
        words, segments = self._transcript_words(transcript, lang)
        if not words:
            return
        source = source_language if source_language and source_language != lang else None
        opt = self.options
        call = Call(transcript, lang, source, x, voiced, words, segments, opt=opt)
        self._listen(call)
        report.segments = judge.judge(call, self._identify)
        if call.windows:
            after_drift.recheck(report.segments, words, x, self.load(), self._verify_lock, lang, opt.after_drift)
        certainty.assign(report.segments, words, opt.certainty, call.drift_ear, call.drift_margin)
        if call.windows:
            unclaimed.claim(report.segments, words, speech, x, self.load(), self._verify_lock, lang,
                            SUPPORTED, opt.unclaimed, opt.usual_languages)
        report.words = [WordResult(w.span.text, w.span.start, w.span.end, str(w.status),  # type: ignore[arg-type]
                                   w.start, w.end) for w in words]
        if len(call.windows) > 1:
            # a long answer leaves CTranslate2's freed buffers resident in the heap: give them back
            call.windows.clear()
            release_freed_memory()

    def _listen(self, call: Call) -> None:
        """Gather the evidence for every transcript word: heard, where, how likely as written."""
        opt, words = call.opt, call.words
        if voiced_s(call.voiced) >= opt.min_voice_s:
            asr = self.load()
            with self._verify_lock:
                call.windows = listen.encode(asr, call.x, call.voiced, opt)
                decoded = None
                if len(call.windows) == 1:
                    # the transcript's likelihood first: most answers are said as written, and
                    # then free decoding (half the time of a verification) could only confirm it;
                    # it starts meanwhile on the other worker and is stopped if not needed
                    win = call.windows[0]
                    ahead = asr.decode_ahead(win.encoded, win.frames, call.lang, offset=win.start_s)
                    try:
                        listen.force_written(asr, words, call.windows, call.lang, opt)
                        call.lid = asr.detect_language(win.encoded)
                        if judge.plainly_said(call):
                            return
                        listen.forget_times(words)
                        decoded = [ahead.result()]
                    finally:
                        ahead.cancel()    # a no-op once it has finished
                call.heard = listen.recognize(asr, call.windows, call.voiced, call.lang, opt, decoded)
        listen.align(words, call.heard, call.lang, opt)
        place_times(words, call.heard)
        if call.windows:
            with self._verify_lock:
                asr = self.load()
                if not call.lid:
                    listen.force_written(asr, words, call.windows, call.lang, opt)
                    # Whisper's language ID over the whole (first) window: clean answers score their
                    # language 0.85+; below half, some sentence is likely in another language even
                    # where free decoding, forced to the target, heard a fluent translation of it
                    call.lid = asr.detect_language(call.windows[0].encoded)
                listen.force_numbers(asr, words, call.windows, call.lang, call.heard)
            call.foreign = dict(call.lid).get(call.lang, 0.0) < opt.foreign_lid
            listen.doubt_lookalikes(words, opt)
            listen.rescue(words, call.voiced, opt)
            retime_misplaced(words, opt)
        assign_tail(words, call.voiced, opt)
        trim_unsaid_tail(words, call.voiced, opt)
        call.unintelligible = listen.unintelligible(words, call.lid, call.lang, opt)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("words: %s", " ".join(
                f"{w.span.text}[{w.status} {w.sim:.2f} f={-1 if w.forced is None else w.forced:.2f}]" for w in words))
            log.debug("heard: %s", " ".join(f"{h.text}({h.probability:.2f})" for h in call.heard))

    # --- the stages that need the loaded model or are reached through the verifier ------------
    @staticmethod
    def _transcript_words(text: str, lang: str) -> tuple[list[Word], list]:
        return listen.transcript_words(text, lang)

    def _identify(self, call: Call, seg_words: list[Word], flagged: list[Word], strict: bool = False,
                  lead: bool = False, cut_tail: bool = False) -> tuple[str | None, str]:
        """The language check of the flagged words (language.identify)."""
        return identify(call, self.load(), self._verify_lock, seg_words, flagged, strict, lead, cut_tail)

    @staticmethod
    def _candidates(call: Call, lid: list[tuple[str, float]]) -> list[str]:
        return candidates(call, lid)


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
