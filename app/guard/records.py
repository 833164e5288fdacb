"""What Guard reports about each response, to a listener (the window) and to history.

Listener calls come from Guard's event loop thread; a Qt window forwards them with a
queued signal. History entries carry `meta["source"] = "guard"`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.audio.resample import resample
from app.core.report import Report

log = logging.getLogger(__name__)
HISTORY_RATE = 24000


@dataclass
class GuardSession:
    id: str
    path: str                 # what the client asked for, without the query
    upstream: str
    opened_at: float = field(default_factory=time.time)
    closed_at: float | None = None
    close_code: int | None = None
    responses: int = 0


@dataclass
class GuardResponse:
    session_id: str
    response_id: str
    mode: str                          # observe | repair
    transcript: str
    input_text: str
    audio_format: str                  # the wire format
    voice: str | None
    audio: np.ndarray                  # what upstream sent, decoded, at sample_rate
    sample_rate: int
    status: str = "unverified"         # match | mismatch | repaired | unverified | incomplete
    report: Report | None = None       # verdict on the upstream's audio
    appended_text: str | None = None   # repair: the words Guard voiced and appended
    delivered_audio: np.ndarray | None = None   # repair: what the app received
    delivered_report: Report | None = None
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    model: str | None = None
    history_id: str | None = None

    @property
    def flagged(self) -> list:
        return self.report.flagged_segments if self.report else []

    def summary(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "response_id": self.response_id, "mode": self.mode,
                "status": self.status, "transcript": self.transcript,
                "audio_s": round(len(self.audio) / self.sample_rate, 3) if self.sample_rate else 0.0,
                "flagged": [s.to_dict() for s in self.flagged], "appended_text": self.appended_text,
                "error": self.error, "timings": {k: round(v, 4) for k, v in self.timings.items()},
                "history_id": self.history_id}


class GuardListener:
    """Override what you need; every method is called on Guard's event loop thread."""

    def on_session_opened(self, session: GuardSession) -> None: ...

    def on_session_closed(self, session: GuardSession) -> None: ...

    def on_response(self, response: GuardResponse) -> None:
        """Called once per audio response, after its verdict (and repair) are known."""


def to_utterance(r: GuardResponse, provider: str):
    """The history entry for a response (24 kHz audio, as every Utterance)."""
    from app.core.utterance import RepairAttempt, Utterance

    def at_24k(pcm: np.ndarray) -> np.ndarray:
        return resample(np.asarray(pcm, np.int16), r.sample_rate, HISTORY_RATE)

    lang = r.report.language if r.report else "auto"
    u = Utterance(r.input_text or "", "auto", lang, provider=provider, model=r.model or "",
                  voice=r.voice or "", audio_format=r.audio_format, transcript=r.transcript,
                  sample_rate=HISTORY_RATE)
    u.audio = at_24k(r.audio)
    u.report = r.report
    u.state = "complete" if r.status != "incomplete" else "incomplete"
    u.error = r.error
    u.timings = dict(r.timings)
    u.meta = {"source": "guard", "guard_mode": r.mode, "response_id": r.response_id,
              "guard_session": r.session_id}
    if r.report is None:
        u.meta["unverified"] = True
    if r.delivered_audio is not None:
        u.original_audio, u.original_report = u.audio, r.report
        u.audio = at_24k(r.delivered_audio)
        u.report = r.delivered_report or r.report
        verdict = "error" if r.delivered_report is None else r.delivered_report.verdict
        u.repairs = [RepairAttempt(1, "tts", verdict, report=r.delivered_report, audio=u.audio)]
        u.meta["appended_text"] = r.appended_text
    return u


def save_to_history(store, r: GuardResponse, provider: str) -> str | None:
    """Blocking (SQLite and WAV files): call it off the event loop."""
    try:
        u = to_utterance(r, provider)
        store.save(u)
        return u.id
    except Exception:
        log.exception("guard: a response could not be saved to history")
        return None
