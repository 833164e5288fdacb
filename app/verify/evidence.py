"""What the verifier knows about one answer and each of its written words, as the stages
gather it (listen.py) and weigh it (judge.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np

from app.text.segments import Span
from app.verify.options import DEFAULT_OPTIONS, VerifyOptions
from app.verify.voice import SR


class Status(StrEnum):
    """A written word's status; the values are the report's word statuses."""

    OK = "ok"                  # heard as written (or the audio supports it as written)
    SUB = "sub"                # heard as something else
    GAP = "gap"                # nothing heard for it, inside the audio
    MISSING = "missing"        # after where the audio's voice ran out
    DRIFTED = "drifted"        # said in another language
    MISSPOKEN = "misspoken"    # said as other words in the target language


class Window(NamedTuple):
    """A piece of the audio (≤ window_s) with voice in it, encoded once for every pass."""

    start_s: float
    end_s: float
    encoded: Any        # Whisper's encoder output
    frames: int         # mel frames of audio in it


@dataclass(slots=True)
class Word:
    """The evidence for one written word."""

    span: Span
    seg: int
    tokens: list[str]
    status: Status = Status.MISSING
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


@dataclass(slots=True)
class Call:
    """One verification: its inputs and the evidence the steps gather and share."""

    text: str
    lang: str
    source: str | None
    x: np.ndarray                  # mono float32 at 16 kHz
    voiced: np.ndarray             # voice per 10 ms frame
    words: list[Word]
    segments: list[Span]
    heard: list = field(default_factory=list)      # free decoding's words (asr.AsrWord)
    windows: list[Window] = field(default_factory=list)
    lid: list = field(default_factory=list)        # Whisper's language ID over the first window
    foreign: bool = False          # Whisper's language ID doubts the target language overall
    unintelligible: bool = False   # the recognizer cannot read this voice (listen.unintelligible)
    # per sentence index: Whisper's language-ID share for the language a drift was found in,
    # over the region the language check listened to (certainty.py weighs it)
    drift_ear: dict[int, float] = field(default_factory=dict)
    # ... and by how much the language check's evidence cleared the drift bar
    drift_margin: dict[int, float] = field(default_factory=dict)
    opt: VerifyOptions = DEFAULT_OPTIONS

    @property
    def duration(self) -> float:
        return len(self.x) / SR


# the names the stages had inside verifier.py
_Word = Word
_Call = Call


def dedupe(items: list[str]) -> list[str]:
    """Heard texts without immediate repeats (words sharing one heard word list it once each)."""
    out: list[str] = []
    for it in items:
        if not out or out[-1] is not it and out[-1] != it:
            out.append(it)
    return out


def chars(w: Word) -> int:
    """The word's length in normalised letters."""
    return len("".join(w.tokens))
