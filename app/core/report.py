"""The verifier's answer, shaped exactly like the `check --json` contract.

`to_dict()` emits only the contract's keys (other tools parse it); anything extra the
UI wants is derived here (`describe_segment`) rather than added to the JSON.

Certainty: a segment that is not `ok` carries `confidence`. `certain` means the evidence
itself says the audio differs (the audio ended; another language was clearly heard; a
word was clearly different) and the segment is *flagged* (red, counts for the verdict,
may start an automatic repair). `uncertain` means only the recognizer's ear is in doubt:
the segment is *doubtful* (amber, "may differ"), kept and shown, but the answer's
verdict stays `match` (with `uncertain: true`) and nothing repairs it on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from app.core.languages import language_name

SegmentStatus = Literal["ok", "truncated", "drifted", "misspoken"]
WordStatus = Literal["ok", "missing", "drifted", "misspoken"]
Confidence = Literal["certain", "uncertain"]
CERTAIN: Confidence = "certain"
UNCERTAIN: Confidence = "uncertain"


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


@dataclass(slots=True)
class WordResult:
    text: str
    char_start: int
    char_end: int
    status: WordStatus
    start_s: float | None = None
    end_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "char_start": self.char_start, "char_end": self.char_end,
                "status": self.status, "start_s": _r(self.start_s), "end_s": _r(self.end_s)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordResult:
        return cls(d["text"], int(d["char_start"]), int(d["char_end"]), d["status"],
                   d.get("start_s"), d.get("end_s"))


@dataclass(slots=True)
class SegmentResult:
    index: int
    text: str
    char_start: int
    char_end: int
    status: SegmentStatus
    start_s: float | None = None
    end_s: float | None = None
    heard: str = ""
    heard_language: str | None = None
    confidence: Confidence = CERTAIN

    @property
    def differs(self) -> bool:
        """Not spoken as written, certainly or not (red or amber)."""
        return self.status != "ok"

    @property
    def flagged(self) -> bool:
        """Certainly not spoken as written: red, counts for the verdict, may be repaired."""
        return self.status != "ok" and self.confidence == CERTAIN

    @property
    def doubtful(self) -> bool:
        """May differ: only the recognizer's ear is in doubt (amber, never repaired on its own)."""
        return self.status != "ok" and self.confidence != CERTAIN

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "text": self.text, "char_start": self.char_start,
                "char_end": self.char_end, "status": self.status, "confidence": self.confidence,
                "start_s": _r(self.start_s), "end_s": _r(self.end_s), "heard": self.heard,
                "heard_language": self.heard_language}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentResult:
        # reports saved before confidence existed: every flag then was treated as certain
        confidence = UNCERTAIN if d.get("confidence") == UNCERTAIN else CERTAIN
        return cls(int(d["index"]), d["text"], int(d["char_start"]), int(d["char_end"]), d["status"],
                   d.get("start_s"), d.get("end_s"), d.get("heard") or "", d.get("heard_language"),
                   confidence)


@dataclass(slots=True)
class Report:
    verdict: Literal["match", "mismatch"]
    language: str
    audio_duration_s: float
    segments: list[SegmentResult] = field(default_factory=list)
    words: list[WordResult] = field(default_factory=list)
    engine: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def matches(self) -> bool:
        return self.verdict == "match"

    @property
    def flagged_segments(self) -> list[SegmentResult]:
        """Segments certainly not spoken as written (red)."""
        return [s for s in self.segments if s.flagged]

    @property
    def doubtful_segments(self) -> list[SegmentResult]:
        """Segments that may differ (amber): shown, kept, never repaired on their own."""
        return [s for s in self.segments if s.doubtful]

    @property
    def differing_segments(self) -> list[SegmentResult]:
        """Red and amber together: what a repair the user asks for re-voices."""
        return [s for s in self.segments if s.differs]

    @property
    def uncertain(self) -> bool:
        """Some segment may differ, though none certainly does (or also does)."""
        return any(s.doubtful for s in self.segments)

    def settle_verdict(self) -> None:
        """The verdict from the segments: `mismatch` only for a certain flag."""
        self.verdict = "mismatch" if any(s.flagged for s in self.segments) else "match"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "uncertain": self.uncertain, "language": self.language,
                "audio_duration_s": _r(self.audio_duration_s),
                "segments": [s.to_dict() for s in self.segments],
                "words": [w.to_dict() for w in self.words],
                "engine": dict(self.engine), "elapsed_s": _r(self.elapsed_s)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        return cls(d["verdict"], d["language"], float(d.get("audio_duration_s") or 0.0),
                   [SegmentResult.from_dict(s) for s in d.get("segments", [])],
                   [WordResult.from_dict(w) for w in d.get("words", [])],
                   dict(d.get("engine") or {}), float(d.get("elapsed_s") or 0.0))


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f"‘{text if len(text) <= limit else text[: limit - 1].rstrip() + '…'}’"


def describe_segment(seg: SegmentResult, report: Report) -> str:
    """A sentence a person understands: why this segment is red (or amber: may differ)."""
    if seg.status == "ok":
        return "spoken as written"
    if seg.doubtful:
        return "may differ — " + _describe_status(seg, report) + " (the recognizer is unsure; listen to check)"
    return _describe_status(seg, report)


def _describe_status(seg: SegmentResult, report: Report) -> str:
    if seg.status == "truncated":
        if seg.start_s is None:
            return f"not spoken — audio ended at {report.audio_duration_s:.1f} s"
        return f"cut short — audio ended at {report.audio_duration_s:.1f} s before the end of this sentence"
    if seg.status == "drifted":
        # the recognizer's words in a language it was not decoding are garble: quote what the
        # transcript says, and name the language heard instead
        lang = language_name(seg.heard_language)
        expected = language_name(report.language) if report.language and report.language != "auto" else ""
        instead = f" instead of {expected}" if expected and expected != lang else ""
        return f"spoken in {lang}{instead}: {_quote(seg.text)}" if seg.text.strip() else f"spoken in {lang}{instead}"
    return f"spoken differently: {_quote(seg.heard)}" if seg.heard else "spoken differently"
