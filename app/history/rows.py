"""Utterance <-> `utterances` row, by column name (no Qt, no audio).

`params()` gives the named parameters of `UPSERT`; `utterance()` reads a row back (the
store adds the audio). JSON columns that do not parse read as empty, never as an error.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from app.core.report import Report
from app.core.utterance import RepairAttempt, Utterance

log = logging.getLogger(__name__)

# every column a save writes, in the table's order
COLUMNS = ("id", "created_at", "input_text", "source_language", "target_language", "provider", "model", "voice",
           "audio_format", "transcript", "state", "status", "error", "duration_s", "sample_rate", "report_json",
           "original_report_json", "repairs_json", "timings_json", "meta_json", "updated_at")
# set by the first save and never changed by later ones
_SET_ONCE = ("id", "created_at", "source_language", "target_language")

UPSERT = (f"INSERT INTO utterances ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)}) "
          "ON CONFLICT(id) DO UPDATE SET "
          + ", ".join(f"{c}=excluded.{c}" for c in COLUMNS if c not in _SET_ONCE))

# what a list shows
LIST_COLUMNS = ("id, created_at, input_text, transcript, status, duration_s, source_language, target_language, "
                "deleted_at")


def params(u: Utterance, now: float | None = None) -> dict[str, Any]:
    """The named parameters of UPSERT for `u` (meta that is not JSON is left out)."""
    meta = {k: v for k, v in u.meta.items() if _jsonable(v)}
    return {
        "id": u.id, "created_at": u.created_at, "input_text": u.input_text,
        "source_language": u.source_language, "target_language": u.target_language,
        "provider": u.provider, "model": u.model, "voice": u.voice, "audio_format": u.audio_format,
        "transcript": u.transcript, "state": u.state, "status": u.status, "error": u.error,
        "duration_s": u.duration_s, "sample_rate": u.sample_rate,
        "report_json": json.dumps(u.report.to_dict()) if u.report else None,
        "original_report_json": json.dumps(u.original_report.to_dict()) if u.original_report else None,
        "repairs_json": json.dumps([a.to_dict() for a in u.repairs]),
        "timings_json": json.dumps(u.timings), "meta_json": json.dumps(meta),
        "updated_at": time.time() if now is None else now,
    }


def utterance(r: sqlite3.Row) -> Utterance:
    """The utterance a row holds, without its audio."""
    u = Utterance(r["input_text"], r["source_language"], r["target_language"], id=r["id"],
                  created_at=r["created_at"], provider=r["provider"] or "", model=r["model"] or "",
                  voice=r["voice"] or "", audio_format=r["audio_format"] or "pcm16", transcript=r["transcript"],
                  sample_rate=r["sample_rate"], state=r["state"], error=r["error"])
    u.report = _report(r["report_json"])
    u.original_report = _report(r["original_report_json"])
    u.repairs = [RepairAttempt.from_dict(d) for d in _json(r["repairs_json"], [])]
    u.timings = _json(r["timings_json"], {})
    u.meta = _json(r["meta_json"], {})
    return u


@dataclass
class HistoryRow:
    """What a list shows, without loading audio."""
    id: str
    created_at: float
    input_text: str
    transcript: str
    status: str
    duration_s: float
    source_language: str
    target_language: str
    deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> HistoryRow:
        return cls(r["id"], r["created_at"], r["input_text"], r["transcript"], r["status"], r["duration_s"],
                   r["source_language"], r["target_language"], r["deleted_at"] is not None)


def _json(text: str | None, default):
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _report(text: str | None) -> Report | None:
    d = _json(text, None)
    if not d:
        return None
    try:
        return Report.from_dict(d)
    except (KeyError, TypeError, ValueError):
        log.warning("an unreadable report in history was skipped")
        return None


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False
