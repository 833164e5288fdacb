"""The internal events every provider shape is normalized into, one stream per response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TranscriptDelta:
    response_id: str
    delta: str


@dataclass
class AudioDelta:
    response_id: str
    pcm: np.ndarray          # int16 mono at 24 kHz whatever the wire format was
    late: bool = False       # arrived after the audio's `.done`


@dataclass
class ResponseDone:
    response_id: str
    transcript: str
    status: str = "completed"                 # completed | incomplete | cancelled | failed
    status_details: Any = None
    usage: dict[str, Any] | None = None
    audio_missing: bool = False               # text-only answer
    late_audio_deltas: int = 0
    transcript_language: str | None = None    # set by the local engine when it read back
    audio_samples: int = 0


@dataclass
class ErrorEvent:
    message: str
    code: str | None = None
    type: str | None = None
    event_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class SessionInfo:
    session_id: str
    model: str
    flavor: str                               # "ga" | "beta"
    translation_available: bool = True
    engine: str = ""                          # "verbatim-local" for the embedded engine
    raw: dict[str, Any] = field(default_factory=dict)
