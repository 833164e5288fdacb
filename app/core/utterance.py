"""One translation: what was typed, what came back (text and audio), what was checked.

Shared by the window, the history store and Repair. Audio is always kept as mono int16
at `sample_rate` (24 kHz for Realtime pcm16; G.711 answers are decoded and resampled on
arrival) so every consumer reads one representation.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import numpy as np

from app.core.report import Report

UtteranceState = Literal["streaming", "complete", "incomplete", "failed"]
RepairStrategy = Literal["revoice", "tts", "patch", "strict"]


class Status(StrEnum):
    """One word for an utterance, for icons and filters (stored as its text in history)."""

    STREAMING = "streaming"
    VERIFYING = "verifying"      # complete, its check still running
    UNVERIFIED = "unverified"    # complete, never checked (stopped, or no verifier)
    MATCH = "match"
    MISMATCH = "mismatch"
    REPAIRED = "repaired"
    INCOMPLETE = "incomplete"
    FAILED = "failed"


def new_id() -> str:
    """Time-ordered unique id (sorts by creation like a ULID, no extra dependency)."""
    return f"{time.time_ns() // 1_000_000:013x}{uuid.uuid4().hex[:12]}"


@dataclass(slots=True)
class RepairAttempt:
    number: int                  # 1-based
    strategy: RepairStrategy
    verdict: Literal["match", "mismatch", "error"]
    elapsed_s: float = 0.0
    report: Report | None = None
    error: str | None = None
    audio: np.ndarray | None = None  # the attempt's audio (kept so history can replay it)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "strategy": self.strategy, "verdict": self.verdict,
                "elapsed_s": round(self.elapsed_s, 3), "error": self.error,
                "report": self.report.to_dict() if self.report else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RepairAttempt:
        rep = d.get("report")
        return cls(int(d["number"]), d["strategy"], d["verdict"], float(d.get("elapsed_s") or 0),
                   Report.from_dict(rep) if rep else None, d.get("error"))


@dataclass(slots=True)
class Utterance:
    input_text: str
    source_language: str          # "auto" allowed
    target_language: str
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)
    provider: str = "local"       # openai | azure | local
    model: str = ""
    voice: str = ""
    audio_format: str = "pcm16"   # the wire format the server sent
    transcript: str = ""
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    sample_rate: int = 24000
    state: UtteranceState = "streaming"
    error: str | None = None
    report: Report | None = None
    # Audio as first received, kept when Repair swaps in new audio (for comparison).
    original_audio: np.ndarray | None = None
    original_report: Report | None = None
    repairs: list[RepairAttempt] = field(default_factory=list)
    # Seconds from request to first audio delta, to done, etc. (for the status line/bench).
    timings: dict[str, float] = field(default_factory=dict)
    # Free-form facts worth keeping: response id, usage, engine ground truth ...
    meta: dict[str, Any] = field(default_factory=dict)
    # The view of spare room `append_audio` last set as `audio` (its base has room to grow).
    _audio_head: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / float(self.sample_rate) if self.sample_rate else 0.0

    @property
    def repaired(self) -> bool:
        return self.original_audio is not None and any(a.verdict == "match" for a in self.repairs)

    @property
    def status(self) -> Status:
        if self.state in ("incomplete", "failed", "streaming"):
            return Status(self.state)
        if self.report is None:
            return Status.UNVERIFIED if self.meta.get("unverified") else Status.VERIFYING
        if self.report.matches:
            return Status.REPAIRED if self.repaired else Status.MATCH
        return Status.MISMATCH

    def append_audio(self, pcm: np.ndarray) -> None:
        """Add streamed samples in amortized O(len(pcm)): writes go past the end of `audio`
        into spare room, so views handed out earlier keep their contents."""
        x = np.asarray(pcm, dtype=np.int16).reshape(-1)
        if not len(x):
            return
        n, head = len(self.audio), self._audio_head
        # grow in place only while `audio` is still what we set (nobody assigned or sliced it)
        if head is not None and self.audio is head and n + len(x) <= len(head.base):
            buf = head.base
        else:
            buf = np.empty(max(n + len(x), n + n // 2, 2 * self.sample_rate), np.int16)
            buf[:n] = self.audio
        buf[n:n + len(x)] = x
        self.audio = self._audio_head = buf[:n + len(x)]
