"""The history: every utterance with its transcript, verdict, word timings and repairs in
SQLite (WAL), its audio as WAV files beside it. No Qt; safe to use from several threads.

While an answer streams, `checkpoint()` appends the new audio to a raw side file, so a
crash keeps what arrived; `recover()` turns such leftovers into 'incomplete' entries."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.audio.wavfile import WavError, read_wav, write_wav
from app.core.utterance import RepairAttempt, Utterance
from app.verify.report import Report

from .schema import migrate

log = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"


class HistoryError(RuntimeError):
    """A history operation failed; the message is for the user."""


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


def default_dir() -> Path:
    env = os.environ.get("VERBATIM_DATA_DIR")
    if env:
        return Path(env) / "history"
    from platformdirs import user_data_dir

    return Path(user_data_dir("verbatim", appauthor=False)) / "history"


class HistoryStore:
    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.dir = Path(path) if path is not None else default_dir()
        self.audio_dir = self.dir / "audio"
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.dir, 0o700)
        except OSError:
            pass
        self.db_path = self.dir / DB_NAME
        self.recovered_from: Path | None = None   # a damaged database set aside, if any
        self.migrated_from: int | None = None
        self._lock = threading.RLock()
        self._conn = self._open()
        # migrate() created the index if this SQLite has FTS5
        self._fts = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'utterances_fts'").fetchone() is not None
        self._partial_samples: dict[str, int] = {}

    # --- opening -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise sqlite3.DatabaseError(ok)
            self.migrated_from = migrate(conn)
            return conn
        except sqlite3.DatabaseError as exc:
            try:
                conn.close()
            except Exception:
                pass
            if "newer Verbatim" in str(exc):
                raise HistoryError(str(exc)) from exc
            # keep the damaged file for the user (or a recovery tool), start a fresh one
            aside = self.db_path.with_name(f"{DB_NAME}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            log.error("history database unreadable (%s); moved aside to %s", exc, aside)
            self.db_path.rename(aside)
            for suffix in ("-wal", "-shm"):
                side = self.db_path.with_name(DB_NAME + suffix)
                if side.exists():
                    side.rename(aside.with_name(aside.name + suffix))
            self.recovered_from = aside
            conn = self._connect()
            self.migrated_from = migrate(conn)
            return conn

    @property
    def warning(self) -> str | None:
        if self.recovered_from is not None:
            return (f"The history file was damaged and has been set aside as {self.recovered_from.name}; "
                    "a new history was started. Audio files were kept.")
        return None

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except Exception:
                pass

    # --- audio files ----------------------------------------------------------------------
    def _audio_path(self, uid: str, kind: str = "") -> Path:
        if not uid.replace("-", "").replace("_", "").isalnum():
            raise HistoryError(f"not an utterance id: {uid!r}")
        return self.audio_dir / f"{uid}{'.' + kind if kind else ''}.wav"

    def _partial_path(self, uid: str) -> Path:
        return self.audio_dir / f"{uid}.partial.pcm"

    # --- writing -------------------------------------------------------------------------------
    def begin(self, u: Utterance) -> None:
        self._partial_samples[u.id] = 0
        self._write_row(u)

    def checkpoint(self, u: Utterance) -> None:
        """Cheap: append the audio that arrived since the last call, update the text."""
        done = self._partial_samples.get(u.id, 0)
        if len(u.audio) > done:
            with open(self._partial_path(u.id), "ab") as f:
                f.write(np.asarray(u.audio[done:], dtype="<i2").tobytes())
            self._partial_samples[u.id] = len(u.audio)
        with self._lock, self._conn:
            self._conn.execute("UPDATE utterances SET transcript=?, duration_s=?, updated_at=? WHERE id=?",
                               (u.transcript, u.duration_s, time.time(), u.id))

    def save(self, u: Utterance) -> None:
        """The whole utterance, audio files first so a row never points at missing audio."""
        rate = u.sample_rate
        write_wav(self._audio_path(u.id), u.audio, rate)
        if u.original_audio is not None:
            write_wav(self._audio_path(u.id, "original"), u.original_audio, rate)
        for a in u.repairs:
            if a.audio is not None:
                write_wav(self._audio_path(u.id, f"repair{a.number}"), a.audio, rate)
        self._write_row(u)
        if u.state != "streaming":
            self._partial_samples.pop(u.id, None)
            try:
                self._partial_path(u.id).unlink()
            except FileNotFoundError:
                pass

    def _write_row(self, u: Utterance) -> None:
        meta = {k: v for k, v in u.meta.items() if _jsonable(v)}
        row = (u.id, u.created_at, u.input_text, u.source_language, u.target_language, u.provider, u.model,
               u.voice, u.audio_format, u.transcript, u.state, u.status, u.error, u.duration_s, u.sample_rate,
               json.dumps(u.report.to_dict()) if u.report else None,
               json.dumps(u.original_report.to_dict()) if u.original_report else None,
               json.dumps([a.to_dict() for a in u.repairs]), json.dumps(u.timings), json.dumps(meta), time.time())
        with self._lock, self._conn:
            self._conn.execute("""
                INSERT INTO utterances (id, created_at, input_text, source_language, target_language, provider,
                    model, voice, audio_format, transcript, state, status, error, duration_s, sample_rate,
                    report_json, original_report_json, repairs_json, timings_json, meta_json, updated_at)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                ON CONFLICT(id) DO UPDATE SET input_text=excluded.input_text, transcript=excluded.transcript,
                    provider=excluded.provider, model=excluded.model, voice=excluded.voice,
                    audio_format=excluded.audio_format, state=excluded.state, status=excluded.status,
                    error=excluded.error, duration_s=excluded.duration_s, sample_rate=excluded.sample_rate,
                    report_json=excluded.report_json, original_report_json=excluded.original_report_json,
                    repairs_json=excluded.repairs_json, timings_json=excluded.timings_json,
                    meta_json=excluded.meta_json, updated_at=excluded.updated_at""", row)
            if self._fts:
                self._conn.execute("DELETE FROM utterances_fts WHERE id=?", (u.id,))
                self._conn.execute("INSERT INTO utterances_fts(id, input_text, transcript) VALUES (?,?,?)",
                                   (u.id, u.input_text, u.transcript))

    # --- reading -----------------------------------------------------------------------------
    def get(self, uid: str) -> Utterance | None:
        with self._lock:
            r = self._conn.execute("SELECT * FROM utterances WHERE id=?", (uid,)).fetchone()
        if r is None:
            return None
        u = Utterance(r["input_text"], r["source_language"], r["target_language"], id=r["id"],
                      created_at=r["created_at"], provider=r["provider"] or "", model=r["model"] or "",
                      voice=r["voice"] or "", audio_format=r["audio_format"] or "pcm16", transcript=r["transcript"],
                      sample_rate=r["sample_rate"], state=r["state"], error=r["error"])
        u.report = _report(r["report_json"])
        u.original_report = _report(r["original_report_json"])
        u.repairs = [RepairAttempt.from_dict(d) for d in _json(r["repairs_json"], [])]
        u.timings = _json(r["timings_json"], {})
        u.meta = _json(r["meta_json"], {})
        u.audio = self._load_audio(u, "", note=r["duration_s"] > 0)
        if u.original_report is not None or self._audio_path(uid, "original").exists():
            original = self._load_audio(u, "original", note=False)
            u.original_audio = original if len(original) else None
        for a in u.repairs:
            p = self._audio_path(uid, f"repair{a.number}")
            if p.exists():
                a.audio = self._load_audio(u, f"repair{a.number}", note=False)
        return u

    def _load_audio(self, u: Utterance, kind: str, note: bool = True) -> np.ndarray:
        path = self._audio_path(u.id, kind)
        try:
            if not path.exists():
                raise FileNotFoundError(path)
            pcm, rate = read_wav(path)
            if rate != u.sample_rate:
                from app.audio.resample import resample

                pcm = resample(pcm, rate, u.sample_rate)
            return pcm
        except FileNotFoundError:
            partial = self._partial_path(u.id)
            if not kind and partial.exists():
                return np.fromfile(partial, dtype="<i2").astype(np.int16)
            if note:
                u.meta["audio_note"] = "the audio file of this entry is missing"
        except WavError as exc:
            if note:
                u.meta["audio_note"] = f"the audio file of this entry is damaged: {exc}"
        return np.zeros(0, np.int16)

    def list(self, query: str | None = None, *, limit: int = 100, offset: int = 0, status: str | None = None,
             deleted: bool = False) -> list[HistoryRow]:
        where = ["deleted_at IS NOT NULL" if deleted else "deleted_at IS NULL"]
        args: list[Any] = []
        if status:
            where.append("status = ?")
            args.append(status)
        if query and query.strip():
            if self._fts:
                where.append("id IN (SELECT id FROM utterances_fts WHERE utterances_fts MATCH ?)")
                args.append(_fts_query(query))
            else:
                where.append("(input_text LIKE ? OR transcript LIKE ?)")
                args += [f"%{query.strip()}%"] * 2
        sql = (f"SELECT id, created_at, input_text, transcript, status, duration_s, source_language, "
               f"target_language, deleted_at FROM utterances WHERE {' AND '.join(where)} "
               f"ORDER BY created_at DESC LIMIT ? OFFSET ?")
        with self._lock:
            rows = self._conn.execute(sql, (*args, int(limit), int(offset))).fetchall()
        return [HistoryRow(r["id"], r["created_at"], r["input_text"], r["transcript"], r["status"], r["duration_s"],
                           r["source_language"], r["target_language"], r["deleted_at"] is not None) for r in rows]

    # --- deleting ---------------------------------------------------------------------------
    def delete(self, uid: str) -> bool:
        """Soft: hidden from lists, undoable with `undelete`."""
        with self._lock, self._conn:
            cur = self._conn.execute("UPDATE utterances SET deleted_at=? WHERE id=? AND deleted_at IS NULL",
                                     (time.time(), uid))
        return cur.rowcount > 0

    def undelete(self, uid: str) -> bool:
        with self._lock, self._conn:
            cur = self._conn.execute("UPDATE utterances SET deleted_at=NULL WHERE id=?", (uid,))
        return cur.rowcount > 0

    def purge(self, older_than_s: float = 0.0) -> int:
        """Really remove entries deleted more than `older_than_s` ago, with their audio."""
        cutoff = time.time() - older_than_s
        with self._lock, self._conn:
            ids = [r[0] for r in self._conn.execute(
                "SELECT id FROM utterances WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (cutoff,))]
            for uid in ids:
                self._conn.execute("DELETE FROM utterances WHERE id=?", (uid,))
                if self._fts:
                    self._conn.execute("DELETE FROM utterances_fts WHERE id=?", (uid,))
        for uid in ids:
            for p in self.audio_dir.glob(f"{uid}.*"):
                p.unlink(missing_ok=True)
        return len(ids)

    # --- after a crash ------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Entries a crash left 'streaming' become 'incomplete', keeping the audio that arrived."""
        with self._lock:
            ids = [r[0] for r in self._conn.execute("SELECT id FROM utterances WHERE state='streaming'")]
        out = []
        for uid in ids:
            u = self.get(uid)
            if u is None:
                continue
            u.state = "incomplete"
            u.error = u.error or "Verbatim closed before the answer was complete"
            self.save(u)
            out.append(uid)
        return out


def _fts_query(q: str) -> str:
    # every word must appear (prefix match), quotes neutralized: user text is never FTS syntax
    words = [w.replace('"', "") for w in q.split() if w.replace('"', "")]
    return " AND ".join(f'"{w}"*' for w in words) or '""'


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
