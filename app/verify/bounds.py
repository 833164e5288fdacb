"""Never match what was not said: the gates around the recognizer's verdict.

- A transcript far longer than the audio could hold is judged only as far as the audio
  could reach; the sentences beyond are "not spoken" without any recognizer work, so time
  and memory are bounded by the audio's length, not the text's.
- Audio with no speech in it (silence, a tone, a buzz, noise) says none of the transcript.
- A sentence judged spoken needs speech in the time it was placed on, and a stretch of
  speech serves one sentence: a sentence written twice and said once is heard once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.report import CERTAIN, UNCERTAIN, Report, SegmentResult, WordResult
from app.text.segments import CONTROL_TOKEN_RE, Span, split_sentences, split_words
from app.verify.normalize import word_tokens
from app.verify.speech import SpeechMap


@dataclass(frozen=True, slots=True)
class BoundsOptions:
    # no voice says more than this many characters (spaces included) per second: brisk
    # speech is 15-20, and the service at speed 1.5 stays under 25
    max_chars_per_s: float = 30.0
    # ... plus this many, so that a short clip is always judged against a whole short answer
    slack_chars: int = 60
    # a sentence judged said needs speech where it was placed: at least this share of the
    # time its text takes at the fastest pace above (otherwise it only may have been said) ...
    speech_share: float = 0.5
    # ... and with less than this share it was certainly not said there ("Hello there."
    # written twice and said once: the second copy squeezed into the last 50 ms)
    sure_silent_share: float = 0.3


def transcript_segments(text: str) -> list[Span]:
    """The transcript's sentences, as the report numbers them (those with a word in them)."""
    return [s for s in split_sentences(text) if split_words(text, s.start, s.end)]


def judged_end(segments: list[Span], duration_s: float, options: BoundsOptions) -> int:
    """Where to stop judging: the end of the sentence in which the audio's budget runs out."""
    budget = duration_s * options.max_chars_per_s + options.slack_chars
    for seg in segments:
        if seg.end >= budget:
            return seg.end
    return segments[-1].end if segments else 0


def append_not_spoken(report: Report, text: str, segments: list[Span], start: int, lang: str) -> None:
    """Sentences of `segments` that begin at or after `start`: not spoken (the audio ended)."""
    index = len(report.segments)
    for seg in segments:
        if seg.start < start:
            continue
        controls = [(m.start(), m.end()) for m in CONTROL_TOKEN_RE.finditer(text, seg.start, seg.end)]
        words = [WordResult(w.text, w.start, w.end, "missing") for w in split_words(text, seg.start, seg.end)
                 if word_tokens(w.text, lang) and not any(a < w.end and w.start < b for a, b in controls)]
        if not words:
            continue
        report.words.extend(words)
        report.segments.append(SegmentResult(index, seg.text, seg.start, seg.end, "truncated",
                                             confidence=CERTAIN))
        index += 1


def _unsay(report: Report, seg: SegmentResult, confidence: str) -> None:
    seg.status, seg.confidence = "truncated", confidence
    seg.start_s = seg.end_s = None
    seg.heard, seg.heard_language = "", None
    for w in report.words:
        if seg.char_start <= w.char_start < seg.char_end:
            w.status, w.start_s, w.end_s = "missing", None, None


def _overlap(a: float, b: float, spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in spans)


def hold_to_speech(report: Report, speech: SpeechMap, options: BoundsOptions,
                   sound_between: Callable[[float, float], float]) -> None:
    """Every sentence judged said needs speech where it was placed, not used by another.

    `sound_between(a, b)`: seconds of sound (energy well above the floor) there. Where the
    speech detector hears too little but there is sound, the voice may be one it does not
    know (badly clipped speech): the sentence only may not have been said (amber)."""
    taken: list[tuple[float, float]] = []
    for seg in report.segments:
        a, b = seg.start_s, seg.end_s
        if a is None or b is None or b <= a:
            continue
        if seg.status != "ok":
            # a flagged sentence's times are approximate (a drift's words are spread over
            # the foreign speech): it is flagged already, and claims no stretch
            continue
        if _overlap(a, b, taken) > speech.options.max_reused_share * (b - a):
            _unsay(report, seg, CERTAIN)         # the same stretch cannot say it twice
            continue
        fastest = len(seg.text.strip()) / options.max_chars_per_s
        have = speech.speech_between(a, b)
        if have < options.speech_share * fastest:
            silent = have < options.sure_silent_share * fastest and \
                sound_between(a, b) < options.speech_share * fastest
            _unsay(report, seg, CERTAIN if silent else UNCERTAIN)
            continue
        taken.append((a, b))
