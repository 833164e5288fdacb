"""A busy, read-only or full history is never taken for a damaged one; files stay private.

Real SQLite, real files, real second processes. Only disk-full is simulated (by making a
write fail the way a full disk does), because no tiny file system is available here."""

import argparse
import errno
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from app.core.utterance import Utterance
from app.history import HistoryError, HistoryStore
from app.history import audio_files as audio_files_module
from app.history import store as store_module

from .test_store import utterance

ROOT = Path(__file__).resolve().parents[2]
DB = "history.sqlite3"

HOLDER = r"""
import sqlite3, sys, time
db, how, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None)
if how == "open":               # the owner's Verbatim, running, with a change still in its WAL
    c.execute("UPDATE utterances SET transcript = transcript || ' (edited)'")
    print("held", flush=True)
    time.sleep(seconds)
    sys.exit()
if how == "exclusive":          # nobody may even read until this ends
    c.execute("PRAGMA locking_mode=EXCLUSIVE")
    c.execute("BEGIN EXCLUSIVE")
else:                           # an ordinary writer in the middle of a transaction
    c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE utterances SET transcript = transcript")
print("held", flush=True)
time.sleep(seconds)
c.execute("COMMIT")
"""


def saved_history(d: Path, n: int = 1) -> list[Utterance]:
    s = HistoryStore(d)
    us = [utterance(f"Sentence number {i}.") for i in range(n)]
    for u in us:
        s.save(u)
    s.close()
    return us


def hold_lock(db: Path, how: str, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), how, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def cli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "app", "history", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env, **kw)


def nothing_set_aside(d: Path) -> bool:
    return not [p.name for p in d.iterdir() if ".corrupt-" in p.name]


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# --- busy -----------------------------------------------------------------------------------
def test_cli_list_works_while_another_process_holds_the_write_lock(tmp_path):
    [u] = saved_history(tmp_path)
    before = (tmp_path / DB).stat().st_ino
    holder = hold_lock(tmp_path / DB, "immediate", 60)
    try:
        t0 = time.monotonic()
        r = cli("--dir", str(tmp_path), "list", "--json")
        elapsed = time.monotonic() - t0
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 0, r.stderr
    assert [row["id"] for row in json.loads(r.stdout)] == [u.id]
    assert elapsed < store_module.BUSY_TIMEOUT_S        # a read does not wait for the writer
    assert (tmp_path / DB).stat().st_ino == before and nothing_set_aside(tmp_path)


def test_cli_waits_for_a_short_exclusive_lock_then_reads(tmp_path):
    [u] = saved_history(tmp_path)
    holder = hold_lock(tmp_path / DB, "exclusive", 1.5)
    try:
        r = cli("--dir", str(tmp_path), "list", "--json")
    finally:
        holder.wait(timeout=30)
    assert r.returncode == 0, r.stderr
    assert [row["id"] for row in json.loads(r.stdout)] == [u.id]
    assert nothing_set_aside(tmp_path)


def test_a_lock_held_past_the_timeout_is_a_clear_error_and_nothing_is_moved(tmp_path, monkeypatch):
    [u] = saved_history(tmp_path)
    db_bytes = (tmp_path / DB).read_bytes()
    holder = hold_lock(tmp_path / DB, "exclusive", 60)
    try:
        t0 = time.monotonic()
        with pytest.raises(HistoryError, match="another program") as info:
            HistoryStore(tmp_path, busy_timeout_s=0.3)
        assert time.monotonic() - t0 >= 0.3                 # it waited before giving up
        assert "nothing was changed" in str(info.value)
        # the same through the command line (its wait shortened for the test)
        monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.3)
        from app.history.command import add_arguments, run

        p = argparse.ArgumentParser()
        add_arguments(p)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = run(p.parse_args(["--dir", str(tmp_path), "list"]))
        assert rc == 2 and "another program is using the history" in err.getvalue().lower()
    finally:
        holder.kill()
        holder.wait()
    assert nothing_set_aside(tmp_path)
    assert (tmp_path / DB).read_bytes() == db_bytes
    assert [r.id for r in HistoryStore(tmp_path).list()] == [u.id]


def test_a_write_while_another_instance_keeps_the_lock_is_a_clear_error(tmp_path):
    saved_history(tmp_path)
    s = HistoryStore(tmp_path, busy_timeout_s=0.3)
    holder = hold_lock(tmp_path / DB, "immediate", 60)
    try:
        with pytest.raises(HistoryError, match="another program"):
            s.save(utterance("Not now."))
    finally:
        holder.kill()
        holder.wait()
    s.save(utterance("Now."))
    assert len(s.list()) == 2 and nothing_set_aside(tmp_path)


# --- read-only ------------------------------------------------------------------------------
def _without_root_powers():
    """Root ignores file modes; run the child without the capabilities that let it (it stays
    uid 0, so the files' owner bits apply to it as to any other user)."""
    if os.geteuid() != 0:
        return {}
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 24, 1, 2, 3

    def drop():   # out of the bounding set, so exec() does not hand them back to root
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
    return {"preexec_fn": drop}


@pytest.mark.parametrize("owner", ["closed", "running", "crashed", "crashed, -shm lost"])
def test_a_history_this_user_may_not_write_is_opened_read_only_and_left_untouched(tmp_path, owner):
    d = tmp_path / "h"
    running = None
    try:
        us = saved_history(d, 2)
        partial = Utterance("Hola.", "es", "en")
        s = HistoryStore(d)
        s.begin(partial)
        partial.append_audio(np.full(2400, 7, np.int16))
        s.checkpoint(partial)          # left 'streaming' with a partial file, as after a crash
        s.close()                      # not left to the garbage collector: it would fold the -wal in later
        if owner != "closed":          # its -wal holds a change; its -shm is not ours to write
            running = hold_lock(d / DB, "open", 60)
            assert (d / (DB + "-wal")).stat().st_size > 0
            if owner.startswith("crashed"):
                running.kill()
                running.wait()
                running = None
            if owner.endswith("lost"):
                (d / (DB + "-shm")).unlink()
        for p in [d, d / "audio"]:
            p.chmod(0o555)
        for p in [*d.iterdir(), *(d / "audio").iterdir()]:
            if p.is_file():
                p.chmod(0o444)
        snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in d.rglob("*") if p.is_file()}

        r = cli("--dir", str(d), "list", "--json", **_without_root_powers())
        if owner.endswith("lost"):     # the change cannot be read without its owner: say so, touch nothing
            assert r.returncode == 2 and "only its owner" in r.stderr
            assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in d.rglob("*") if p.is_file()} == snapshot
            return
        assert r.returncode == 0, r.stderr
        assert {row["id"] for row in json.loads(r.stdout)} == {u.id for u in us} | {partial.id}
        assert "read-only" in r.stderr
        r = cli("--dir", str(d), "show", us[0].id, **_without_root_powers())
        assert r.returncode == 0 and us[0].transcript in r.stdout
        assert ("(edited)" in r.stdout) == (owner != "closed")     # the owner's latest change is read too
        r = cli("--dir", str(d), "delete", us[0].id, **_without_root_powers())
        assert r.returncode == 2 and "read-only" in r.stderr

        assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in d.rglob("*") if p.is_file()} == snapshot
        assert nothing_set_aside(d)
    finally:
        if running is not None:
            running.kill()
            running.wait()
        for p in [d, *d.rglob("*")]:
            if p.is_dir():
                p.chmod(0o700)


def test_the_read_only_option_reads_everything_and_refuses_every_write(tmp_path):
    [u] = saved_history(tmp_path)
    (tmp_path / DB).chmod(0o444)
    before = (tmp_path / DB).read_bytes()
    s = HistoryStore(tmp_path, read_only=True)
    assert s.read_only and "read-only" in s.warning
    assert [r.id for r in s.list("Sentence")] == [u.id]
    back = s.get(u.id)
    assert np.array_equal(back.audio, u.audio)
    for write in (lambda: s.save(utterance()), lambda: s.delete(u.id), lambda: s.undelete(u.id),
                  lambda: s.begin(utterance()), lambda: s.checkpoint(back), lambda: s.purge()):
        with pytest.raises(HistoryError, match="read-only"):
            write()
    assert s.recover() == []
    s.close()
    assert (tmp_path / DB).read_bytes() == before
    assert not list((tmp_path / "audio").glob("*.partial.pcm"))


def test_a_read_only_history_that_is_damaged_is_reported_not_moved(tmp_path):
    (tmp_path / DB).write_bytes(b"garbage, not sqlite" * 300)
    with pytest.raises(HistoryError, match="damaged"):
        HistoryStore(tmp_path, read_only=True)
    assert nothing_set_aside(tmp_path) and (tmp_path / DB).read_bytes().startswith(b"garbage")


# --- really damaged -------------------------------------------------------------------------
def test_a_garbage_file_is_set_aside_byte_identical(tmp_path):
    saved_history(tmp_path)
    for side in ("-wal", "-shm"):
        (tmp_path / (DB + side)).unlink(missing_ok=True)
    garbage = bytes(range(256)) * 64
    (tmp_path / DB).write_bytes(garbage)
    s = HistoryStore(tmp_path)
    assert s.recovered_from.read_bytes() == garbage
    assert "set aside" in s.warning and s.list() == []


def _damage(db: Path, how: str) -> bytes:
    raw = db.read_bytes()
    page = sqlite3.connect(db).execute("PRAGMA page_size").fetchone()[0]
    assert len(raw) > 3 * page
    if how == "malformed":        # page 2's cells overwritten: SQLite raises SQLITE_CORRUPT
        bad = bytearray(raw)
        bad[page + 8:2 * page] = b"\xff" * (page - 8)
        db.write_bytes(bytes(bad))
        return bytes(bad)
    for n in range(2, len(raw) // page + 1):   # a page whose free-block pointer is off: quick_check says so
        bad = bytearray(raw)
        bad[(n - 1) * page + 1:(n - 1) * page + 3] = b"\x0f\xff"
        db.write_bytes(bytes(bad))
        try:
            if sqlite3.connect(db).execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return bytes(bad)
        except sqlite3.DatabaseError:
            pass
    raise AssertionError("no page to damage")


@pytest.mark.parametrize("how", ["malformed", "quick_check"])
def test_a_database_failing_quick_check_is_set_aside(tmp_path, how):
    saved_history(tmp_path, 30)
    damaged = _damage(tmp_path / DB, how)
    s = HistoryStore(tmp_path)
    assert s.recovered_from is not None and s.recovered_from.read_bytes() == damaged
    assert not (tmp_path / DB).read_bytes() == damaged
    s.save(utterance())
    assert len(s.list()) == 1


# --- disk full -----------------------------------------------------------------------------
def test_disk_full_in_the_database_is_a_clear_error_and_nothing_is_lost(tmp_path):
    [u] = saved_history(tmp_path)
    s = HistoryStore(tmp_path)
    pages = s._conn.execute("PRAGMA page_count").fetchone()[0]
    s._conn.execute(f"PRAGMA max_page_count = {pages}")      # SQLite's own SQLITE_FULL
    with pytest.raises(HistoryError, match="full") as info:
        s.save(utterance("x " * 50_000))
    assert "database or disk is full" not in str(info.value)  # ours, not SQLite's wording
    assert nothing_set_aside(tmp_path)
    assert [r.id for r in s.list()] == [u.id]
    s._conn.execute("PRAGMA max_page_count = 1073741823")
    s.save(utterance("Room again."))
    assert len(s.list()) == 2


class FullDisk:
    """os.write that stores `room` more bytes and then fails like a full disk."""

    def __init__(self, room: int):
        self.room, self.real = room, os.write

    def __call__(self, fd, data):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = self.real(fd, bytes(data[:self.room]))
        self.room -= n
        return n


@pytest.mark.parametrize("room", [0, 1001, 2000])     # nothing, half a sample, whole samples
def test_disk_full_during_checkpoint_never_writes_audio_twice(tmp_path, monkeypatch, room):
    s = HistoryStore(tmp_path)
    u = Utterance("Hola.", "es", "en")
    s.begin(u)
    rng = np.random.default_rng(1)
    u.append_audio(rng.integers(-3000, 3000, 2400).astype(np.int16))
    s.checkpoint(u)
    u.append_audio(rng.integers(-3000, 3000, 2400).astype(np.int16))
    monkeypatch.setattr(os, "write", FullDisk(room))
    with pytest.raises(HistoryError, match="full"):
        s.checkpoint(u)
    monkeypatch.undo()
    u.transcript = "Hello"
    u.append_audio(rng.integers(-3000, 3000, 1200).astype(np.int16))
    s.checkpoint(u)
    partial = tmp_path / "audio" / f"{u.id}.partial.pcm"
    assert np.array_equal(np.frombuffer(partial.read_bytes(), "<i2"), u.audio)
    del s                                    # crash
    s2 = HistoryStore(tmp_path)
    assert s2.recover() == [u.id]
    assert np.array_equal(s2.get(u.id).audio, u.audio)


def test_a_crash_right_after_disk_full_recovers_only_whole_written_samples(tmp_path, monkeypatch):
    s = HistoryStore(tmp_path)
    u = Utterance("Hola.", "es", "en")
    s.begin(u)
    u.append_audio(np.arange(1000, dtype=np.int16))
    monkeypatch.setattr(os, "write", FullDisk(601))
    with pytest.raises(HistoryError):
        s.checkpoint(u)
    monkeypatch.undo()
    del s
    s2 = HistoryStore(tmp_path)
    s2.recover()
    assert np.array_equal(s2.get(u.id).audio, u.audio[:300])


# --- file modes ----------------------------------------------------------------------------
def test_files_are_0600_and_the_folders_the_store_creates_0700(tmp_path):
    old = os.umask(0o022)
    try:
        d = tmp_path / "new" / "history"
        s = HistoryStore(d)
        u = utterance()
        s.begin(u)
        s.checkpoint(u)
        partial_mode = mode(d / "audio" / f"{u.id}.partial.pcm")
        s.save(u)
        files = [d / DB, d / (DB + "-wal"), d / (DB + "-shm"), d / "audio" / f"{u.id}.flac"]
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert partial_mode == 0o600
        assert {p.name: mode(p) for p in (tmp_path / "new", d, d / "audio")} == \
            {"new": 0o700, "history": 0o700, "audio": 0o700}
        s.close()
    finally:
        os.umask(old)


def test_an_existing_database_with_loose_modes_is_tightened(tmp_path):
    saved_history(tmp_path)
    (tmp_path / DB).chmod(0o644)
    s = HistoryStore(tmp_path)
    s.save(utterance())
    assert mode(tmp_path / DB) == 0o600 and mode(tmp_path / (DB + "-wal")) == 0o600


def test_history_dir_keeps_the_mode_of_a_folder_the_user_had(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o755)
    r = cli("--dir", str(mine), "list")
    assert r.returncode == 0, r.stderr
    assert mode(mine) == 0o755
    assert mode(mine / "audio") == 0o700 and mode(mine / DB) == 0o600


def test_a_failed_chmod_is_logged(tmp_path, monkeypatch, caplog):
    [u] = saved_history(tmp_path)
    (tmp_path / DB).chmod(0o644)

    def refuse(path, m, *a, **kw):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    monkeypatch.setattr(os, "chmod", refuse)
    with caplog.at_level("WARNING", logger="app.history.store"):
        s = HistoryStore(tmp_path)
    assert [r.id for r in s.list()] == [u.id]
    assert any("could not make" in r.getMessage() and DB in r.getMessage() for r in caplog.records)


def test_recovery_on_a_full_disk_keeps_the_leftovers_for_the_next_start(tmp_path, monkeypatch):
    s = HistoryStore(tmp_path)
    u = Utterance("Hola.", "es", "en")
    s.begin(u)
    u.append_audio(np.arange(4800, dtype=np.int16))
    s.checkpoint(u)
    del s

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(audio_files_module, "write_atomic", full)
    s2 = HistoryStore(tmp_path)
    assert s2.recover() == []                      # logged, not raised: the app still starts
    assert s2.get(u.id).state == "streaming" and (tmp_path / "audio" / f"{u.id}.partial.pcm").exists()
    monkeypatch.undo()
    assert s2.recover() == [u.id]
    assert np.array_equal(s2.get(u.id).audio, u.audio)
