"""Verifying an answer while it still arrives: the audio so far against the transcript.

A proxy that holds audio until it is checked (Guard's repair) wants to release the first
words as soon as they are known to be said as written, and to catch a wrong-language
opening ("Exacto, …") before the app hears it. The whole-answer verifier would call every
sentence the audio has not reached yet "not spoken"; here those are *pending*, not flagged,
and the last instant of audio (a word may be cut in the middle) is not judged either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.report import Report, SegmentResult

# the last moment of the audio so far may hold half a word: words ending this close to the
# end are not judged yet (the next call, with more audio, judges them)
FRONTIER_MARGIN_S = 0.25
# the transcript is judged only as far as the audio so far could have said it: at most this
# many characters per second (brisk speech is 15-20) plus a few. Judged against a whole long
# sentence, 2 s of its opening read as "not spoken" (too little voice for so much text)
PREFIX_CHARS_PER_S = 25.0
PREFIX_SLACK_CHARS = 12


def prefix_text(transcript: str, duration_s: float) -> str:
    """The start of the transcript the audio so far could hold, cut at a word boundary."""
    budget = int(duration_s * PREFIX_CHARS_PER_S) + PREFIX_SLACK_CHARS
    if len(transcript) <= budget:
        return transcript
    cut = transcript[:budget + 1]
    head = cut.rsplit(None, 1)[0] if not cut[-1].isspace() else cut
    return head.rstrip() or transcript[:budget]


@dataclass(slots=True)
class PrefixReport:
    """What the audio so far says about the start of the transcript.

    `confirmed_chars`: transcript[:confirmed_chars] is spoken as written, word for word from
    the start (a proxy may release the audio up to `confirmed_s`). `pending_from`: from this
    character on nothing is judged yet (the audio has not got there). `segments`: the
    sentences judged so far (those starting before `pending_from`), with their statuses;
    a sentence the audio is in the middle of is `ok` when its words so far are."""

    report: Report
    confirmed_chars: int = 0
    confirmed_s: float = 0.0
    pending_from: int = 0
    segments: list[SegmentResult] = field(default_factory=list)

    @property
    def flagged(self) -> list[SegmentResult]:
        """Sentences certainly not said as written, so far."""
        return [s for s in self.segments if s.flagged]

    @property
    def first_flag(self) -> SegmentResult | None:
        return self.flagged[0] if self.flagged else None


def prefix_view(report: Report, transcript: str, margin_s: float = FRONTIER_MARGIN_S) -> PrefixReport:
    """Re-read a whole-answer report of a partial answer as a prefix report."""
    words = report.words
    frontier = report.audio_duration_s - margin_s
    spoken = [i for i, w in enumerate(words) if w.status != "missing"]
    last = spoken[-1] if spoken else -1
    # the trailing spoken words too close to the end of the audio may be cut: not judged yet
    while last >= 0 and words[last].end_s is not None and words[last].end_s > frontier \
            and words[last].status != "ok":
        last -= 1
    pending_from = words[last + 1].char_start if last + 1 < len(words) else len(transcript)
    confirmed_chars, confirmed_s = 0, 0.0
    for w in words[: last + 1]:
        if w.status != "ok" or w.end_s is None or w.end_s > frontier:
            break
        confirmed_chars, confirmed_s = w.char_end, w.end_s
    out = PrefixReport(report, confirmed_chars, confirmed_s, pending_from)
    for seg in report.segments:
        if seg.char_start >= pending_from:
            break
        if seg.char_end > pending_from and seg.status == "truncated":
            judged = [w for w in words if seg.char_start <= w.char_start < pending_from]
            if all(w.status == "ok" for w in judged):
                # said as written so far; the rest has not arrived yet
                seg = SegmentResult(seg.index, seg.text, seg.char_start, seg.char_end, "ok",
                                    seg.start_s, seg.end_s)
        out.segments.append(seg)
    return out
