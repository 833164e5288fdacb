"""The history: every utterance with its transcript, verdict, word timings and repairs in
SQLite (WAL), its audio as FLAC files beside it (lossless; WAV when soundfile is unavailable,
and entries saved before FLAC keep their WAV). No Qt; safe to use from several threads.

While an answer streams, `checkpoint()` appends the new audio to a raw side file, so a
crash keeps what arrived; `recover()` turns such leftovers into 'incomplete' entries."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from app.audio.flacfile import FlacError, FlacUnavailable
from app.audio.wavfile import WavError
from app.core.utterance import Utterance

from . import rows
from .audio_files import AudioFiles
from .errors import HistoryError
from .rows import HistoryRow
from .schema import NewerSchemaError, migrate, version

log = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_S = 10.0     # how long to wait for another program's lock before saying so

# what went wrong, from SQLite's primary result code (never from its wording)
_CAUSE = {sqlite3.SQLITE_BUSY: "busy", sqlite3.SQLITE_LOCKED: "busy",
          sqlite3.SQLITE_READONLY: "readonly", sqlite3.SQLITE_PERM: "readonly",
          sqlite3.SQLITE_FULL: "full", sqlite3.SQLITE_CANTOPEN: "cantopen",
          sqlite3.SQLITE_CORRUPT: "corrupt", sqlite3.SQLITE_NOTADB: "corrupt"}
_OS_CAUSE = {errno.ENOSPC: "full", getattr(errno, "EDQUOT", errno.ENOSPC): "full",
             errno.EACCES: "readonly", errno.EPERM: "readonly", errno.EROFS: "readonly"}


class _Damaged(Exception):
    """PRAGMA quick_check found the file damaged."""


def _cause(exc: BaseException) -> str:
    """'busy', 'readonly', 'full', 'corrupt' or 'other'."""
    if isinstance(exc, _Damaged):
        return "corrupt"
    if isinstance(exc, OSError):
        return _OS_CAUSE.get(exc.errno, "other")
    code = getattr(exc, "sqlite_errorcode", None)
    return "other" if code is None else _CAUSE.get(code & 0xFF, "other")


def default_dir() -> Path:
    env = os.environ.get("VERBATIM_DATA_DIR")
    if env:
        return Path(env) / "history"
    from platformdirs import user_data_dir

    return Path(user_data_dir("verbatim", appauthor=False)) / "history"


class HistoryStore:
    """`read_only=True` (or a file or folder this user may not write) opens the history
    read-only: everything reads, every write raises HistoryError, nothing is touched."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False,
                 busy_timeout_s: float | None = None) -> None:
        self.dir = Path(path) if path is not None else default_dir()
        self.audio_dir = self.dir / "audio"
        self.files = AudioFiles(self.audio_dir)
        self.db_path = self.dir / DB_NAME
        self._files = [self.db_path, self.dir / (DB_NAME + "-wal"), self.dir / (DB_NAME + "-shm")]
        self.busy_timeout_s = BUSY_TIMEOUT_S if busy_timeout_s is None else float(busy_timeout_s)
        self.recovered_from: Path | None = None   # a damaged database set aside, if any
        self.migrated_from: int | None = None
        self.read_only = self._not_writable = not self._writable()
        self.read_only |= bool(read_only)
        self._lock = threading.RLock()
        if not self.read_only:
            try:
                _private_dirs(self.audio_dir)
            except OSError as exc:
                raise HistoryError(self._explain(exc, "create the history folder")) from exc
        self._conn = self._open()
        # migrate() created the index if this SQLite has FTS5
        self._fts = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'utterances_fts'").fetchone() is not None

    # --- opening -------------------------------------------------------------------------
    def _writable(self) -> bool:
        """False when this user may read but not write the history (another user's, a read-only
        mount); a folder that does not exist yet is one we will create."""
        if not self.dir.exists():
            return True
        return all(os.access(p, os.W_OK) for p in [self.dir, self.audio_dir, *self._files] if p.exists())

    def _connect(self) -> sqlite3.Connection:
        if self.db_path.exists():
            for p in self._files:
                _make_private(p)
        else:
            # SQLite gives -wal and -shm the mode of the database file, so this covers all three
            os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=self.busy_timeout_s)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            if not self.read_only:
                try:
                    return self._ready(self._connect(), write=True)
                except (sqlite3.Error, _Damaged, OSError) as exc:
                    cause = _cause(exc)
                    if cause == "corrupt":
                        self._set_aside(exc)
                        return self._ready(self._connect(), write=True)
                    if cause != "readonly":   # busy, full, I/O: the file is fine, leave it where it is
                        raise
                    # a read-only mount, an ACL, a file another user owns
                    log.warning("history at %s is not writable (%s); opening it read-only", self.dir, exc)
                    self.read_only = self._not_writable = True
            return self._open_read_only()
        except NewerSchemaError as exc:
            raise HistoryError(f"Could not open the history: {exc}") from exc
        except (sqlite3.Error, _Damaged, OSError) as exc:
            if _cause(exc) == "corrupt":   # only when read-only: a writable one was set aside above
                raise HistoryError(f"The history file {self.db_path} is damaged ({exc}); it is read-only, so it "
                                   "was left as it is.") from exc
            raise HistoryError(self._explain(exc, "open the history")) from exc

    def _ready(self, conn: sqlite3.Connection, *, write: bool) -> sqlite3.Connection:
        """Check the file and bring its schema up to date (read-only: only check its version)."""
        try:
            _quick_check(conn)
            # an older schema still reads when read-only; it is not migrated then
            self.migrated_from = migrate(conn) if write else version(conn)
            return conn
        except BaseException:
            conn.close()
            raise

    def _set_aside(self, exc: BaseException) -> None:
        # keep the damaged file for the user (or a recovery tool), start a fresh one
        aside = self.db_path.with_name(f"{DB_NAME}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        log.error("history database damaged (%s); moved aside to %s", exc, aside)
        try:
            self.db_path.rename(aside)
            for side in self._files[1:]:
                if side.exists():
                    side.rename(aside.with_name(aside.name + side.name[len(DB_NAME):]))
        except OSError as move:
            raise HistoryError(f"The history file {self.db_path} is damaged ({exc}) and could not be set aside "
                               f"({move.strerror or move}); it was left as it is.") from move
        self.recovered_from = aside

    def _open_read_only(self) -> sqlite3.Connection:
        if not self.db_path.exists():
            raise HistoryError(f"There is no history in {self.dir} yet, and this folder is read-only.")
        uri = self.db_path.absolute().as_uri() + "?mode=ro"
        try:
            return self._ready(_connect_uri(uri, self.busy_timeout_s), write=False)
        except sqlite3.Error as exc:
            cause, wal = _cause(exc), self._files[1]
            if cause not in ("readonly", "cantopen"):
                raise
            if wal.exists() and wal.stat().st_size:
                raise HistoryError(f"Could not open the history in {self.dir}: it is read-only for this user "
                                   f"and its latest changes are still in {wal.name}, which only its owner can "
                                   "fold in. Open Verbatim once as that user; nothing was changed.") from exc
            if cause != "readonly":
                raise
        # WAL mode wants a -shm file it cannot create in a read-only folder; with no WAL
        # content to miss, reading the file as a fixed snapshot is exact
        return self._ready(_connect_uri(uri + "&immutable=1", self.busy_timeout_s), write=False)

    def _explain(self, exc: BaseException, doing: str) -> str:
        """A sentence naming the cause; never says 'damaged' unless SQLite does."""
        cause = _cause(exc)
        if cause == "busy":
            return (f"Could not {doing}: another program is using the history ({self.db_path} stayed locked for "
                    f"{self.busy_timeout_s:g} s) — perhaps another Verbatim window. Close it or try again; "
                    "nothing was changed.")
        if cause == "readonly":
            return f"Could not {doing}: the history in {self.dir} is read-only for this user; nothing was changed."
        if cause == "full":
            return (f"Could not {doing}: the disk holding the history ({self.dir}) is full. Free some space; "
                    "everything saved before is kept.")
        if cause == "cantopen":
            return f"Could not {doing}: {self.db_path} cannot be opened (no such folder, or no permission)."
        if cause == "corrupt":
            return f"Could not {doing}: the history file {self.db_path} is damaged ({exc}). Restart Verbatim."
        return f"Could not {doing}: {getattr(exc, 'strerror', None) or exc}."

    @property
    def notice(self) -> str | None:
        """For the window and the command line: why nothing will be saved."""
        if self.read_only:
            why = " (this user may not change it)" if self._not_writable else ""
            return (f"The history in {self.dir} is open read-only{why}: you can browse and export, but nothing "
                    "new is saved there.")
        return None

    @property
    def warning(self) -> str | None:
        notes = []
        if self.recovered_from is not None:
            notes.append(f"The history file was damaged and has been set aside as {self.recovered_from.name}; "
                         "a new history was started. Audio files were kept.")
        if self.notice:
            notes.append(self.notice)
        return " ".join(notes) or None

    @contextmanager
    def _sql(self, doing: str, *, write: bool = False):
        """The connection, under the lock; a write is one transaction. SQLite errors become
        HistoryError with the cause in words."""
        if write:
            self._check_writable(doing)
        with self._lock:
            try:
                if write:
                    with self._conn:
                        yield self._conn
                else:
                    yield self._conn
            except sqlite3.Error as exc:
                raise HistoryError(self._explain(exc, doing)) from exc

    def _check_writable(self, doing: str) -> None:
        if self.read_only:
            raise HistoryError(f"Could not {doing}: the history in {self.dir} is open read-only.")

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except Exception:
                pass

    # --- writing -------------------------------------------------------------------------------
    def begin(self, u: Utterance) -> None:
        self._check_writable("save this answer")
        self.files.partial_path(u.id).unlink(missing_ok=True)
        self._write_row(u)

    def checkpoint(self, u: Utterance) -> None:
        """Cheap: append the audio that arrived since the last call, update the text."""
        self._check_writable("save this answer")
        try:
            self.files.append_partial(u.id, u.audio)
            failed = None
        except OSError as exc:
            failed = exc             # the text is still worth saving
        with self._sql("save this answer", write=True) as c:
            c.execute("UPDATE utterances SET transcript=?, duration_s=?, updated_at=? WHERE id=?",
                      (u.transcript, u.duration_s, time.time(), u.id))
        if failed is not None:
            raise HistoryError(self._explain(failed, "save the audio of this answer")) from failed

    def save(self, u: Utterance) -> None:
        """The whole utterance, audio files first so a row never points at missing audio."""
        self._check_writable("save this answer")
        rate = u.sample_rate
        try:
            self.files.write(u.id, "", u.audio, rate)
            if u.original_audio is not None:
                self.files.write(u.id, "original", u.original_audio, rate)
            for a in u.repairs:
                if a.audio is not None:
                    self.files.write(u.id, f"repair{a.number}", a.audio, rate)
        except OSError as exc:
            raise HistoryError(self._explain(exc, "save the audio of this answer")) from exc
        self._write_row(u)
        if u.state != "streaming":
            self.files.partial_path(u.id).unlink(missing_ok=True)

    def _write_row(self, u: Utterance) -> None:
        params = rows.params(u)
        with self._sql("save this answer", write=True) as c:
            c.execute(rows.UPSERT, params)
            if self._fts:
                c.execute("DELETE FROM utterances_fts WHERE id=?", (u.id,))
                c.execute("INSERT INTO utterances_fts(id, input_text, transcript) VALUES (?,?,?)",
                          (u.id, u.input_text, u.transcript))

    # --- reading -----------------------------------------------------------------------------
    def get(self, uid: str) -> Utterance | None:
        with self._sql("read the history") as c:
            r = c.execute("SELECT * FROM utterances WHERE id=?", (uid,)).fetchone()
        if r is None:
            return None
        u = rows.utterance(r)
        u.audio = self._load_audio(u, "", note=r["duration_s"] > 0)
        if u.original_report is not None or self.files.find(uid, "original") is not None:
            original = self._load_audio(u, "original", note=False)
            u.original_audio = original if len(original) else None
        for a in u.repairs:
            if self.files.find(uid, f"repair{a.number}") is not None:
                a.audio = self._load_audio(u, f"repair{a.number}", note=False)
        return u

    def _load_audio(self, u: Utterance, kind: str, note: bool = True) -> np.ndarray:
        """The audio of `kind`; missing or unreadable: empty, with a note on `u` when `note`."""
        try:
            return self.files.read(u.id, kind, u.sample_rate)
        except FileNotFoundError:
            partial = None if kind else self.files.read_partial(u.id)
            if partial is not None:
                return partial
            if note:
                u.meta["audio_note"] = "the audio file of this entry is missing"
        except (WavError, FlacError) as exc:
            if note:
                why = "cannot be read here" if isinstance(exc, FlacUnavailable) else "is damaged"
                u.meta["audio_note"] = f"the audio file of this entry {why}: {exc}"
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
        sql = (f"SELECT {rows.LIST_COLUMNS} FROM utterances WHERE {' AND '.join(where)} "
               f"ORDER BY created_at DESC LIMIT ? OFFSET ?")
        with self._sql("read the history") as c:
            found = c.execute(sql, (*args, int(limit), int(offset))).fetchall()
        return [HistoryRow.from_row(r) for r in found]

    # --- deleting ---------------------------------------------------------------------------
    def delete(self, uid: str) -> bool:
        """Soft: hidden from lists, undoable with `undelete`."""
        with self._sql("delete this entry", write=True) as c:
            cur = c.execute("UPDATE utterances SET deleted_at=? WHERE id=? AND deleted_at IS NULL",
                            (time.time(), uid))
        return cur.rowcount > 0

    def undelete(self, uid: str) -> bool:
        with self._sql("restore this entry", write=True) as c:
            cur = c.execute("UPDATE utterances SET deleted_at=NULL WHERE id=?", (uid,))
        return cur.rowcount > 0

    def purge(self, older_than_s: float = 0.0) -> int:
        """Really remove entries deleted more than `older_than_s` ago, with their audio."""
        cutoff = time.time() - older_than_s
        with self._sql("purge deleted entries", write=True) as c:
            ids = [r[0] for r in c.execute(
                "SELECT id FROM utterances WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (cutoff,))]
            for uid in ids:
                c.execute("DELETE FROM utterances WHERE id=?", (uid,))
                if self._fts:
                    c.execute("DELETE FROM utterances_fts WHERE id=?", (uid,))
        for uid in ids:
            self.files.remove_all(uid)
        return len(ids)

    # --- after a crash ------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Entries a crash left 'streaming' become 'incomplete', keeping the audio that arrived.
        A read-only history is left as it is; an entry that cannot be saved now (disk full) keeps
        its leftovers for the next start."""
        if self.read_only:
            return []
        with self._sql("read the history") as c:
            ids = [r[0] for r in c.execute("SELECT id FROM utterances WHERE state='streaming'")]
        out = []
        for uid in ids:
            u = self.get(uid)
            if u is None:
                continue
            u.state = "incomplete"
            u.error = u.error or "Verbatim closed before the answer was complete"
            try:
                self.save(u)
            except HistoryError as exc:
                log.warning("interrupted answer %s not recovered yet: %s", uid, exc)
                continue
            out.append(uid)
        return out


def _private_dirs(path: Path) -> None:
    """Create the missing folders of `path` as 0700; folders that already exist (a `--dir`
    the user chose) keep their mode."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for p in reversed(missing):
        try:
            os.mkdir(p, 0o700)
        except FileExistsError:
            pass


def _make_private(path: Path) -> None:
    """Tighten an existing file of ours to 0600 (older versions left 0644); log if we cannot."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if os.name != "posix" or not st.st_mode & 0o077:
        return
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        log.warning("could not make %s private (0600): %s", path, exc.strerror or exc)


def _connect_uri(uri: str, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=timeout)
    conn.row_factory = sqlite3.Row
    return conn


def _quick_check(conn: sqlite3.Connection) -> None:
    ok = conn.execute("PRAGMA quick_check").fetchone()[0]
    if ok != "ok":
        raise _Damaged(ok[:500])


def _fts_query(q: str) -> str:
    # every word must appear (prefix match), quotes neutralized: user text is never FTS syntax
    words = [w.replace('"', "") for w in q.split() if w.replace('"', "")]
    return " AND ".join(f'"{w}"*' for w in words) or '""'
