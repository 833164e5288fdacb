"""History schema and its migrations. `PRAGMA user_version` says which ones have run;
each migration runs once, in a transaction, and never drops user data."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: utterances
    """
    CREATE TABLE IF NOT EXISTS utterances (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        input_text TEXT NOT NULL,
        source_language TEXT NOT NULL,
        target_language TEXT NOT NULL,
        provider TEXT, model TEXT, voice TEXT, audio_format TEXT,
        transcript TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        duration_s REAL NOT NULL DEFAULT 0,
        sample_rate INTEGER NOT NULL DEFAULT 24000,
        report_json TEXT, original_report_json TEXT,
        repairs_json TEXT NOT NULL DEFAULT '[]',
        timings_json TEXT NOT NULL DEFAULT '{}',
        meta_json TEXT NOT NULL DEFAULT '{}',
        deleted_at REAL
    );
    CREATE INDEX IF NOT EXISTS utterances_created ON utterances(created_at DESC);
    """,
    # 2: updated_at (for sync/export) and an index on status. The full-text index is not a
    # migration: migrate() makes it wherever this SQLite has FTS5
    """
    ALTER TABLE utterances ADD COLUMN updated_at REAL;
    UPDATE utterances SET updated_at = created_at WHERE updated_at IS NULL;
    CREATE INDEX IF NOT EXISTS utterances_status ON utterances(status);
    """,
]

FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS utterances_fts USING fts5(
    id UNINDEXED, input_text, transcript, tokenize = 'unicode61 remove_diacritics 2');
"""

VERSION = len(MIGRATIONS)


class NewerSchemaError(RuntimeError):
    """The file was written by a newer Verbatim; it is left exactly as it is."""


def version(conn: sqlite3.Connection) -> int:
    """The schema version of the file; refuses one this Verbatim does not know."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > VERSION:
        raise NewerSchemaError(f"the history was written by a newer Verbatim (schema {found} > {VERSION}); "
                               "update Verbatim to open it")
    return found


def fts_available(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_probe USING fts5(x)")
        conn.execute("DROP TABLE temp.fts_probe")
        return True
    except sqlite3.OperationalError:
        return False


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to VERSION; returns the version it started at. Writes nothing when
    the file is already current, so opening a history another program is writing never waits
    for (or fails on) its write lock."""
    start = version(conn)
    for number in range(start + 1, VERSION + 1):
        with conn:
            conn.executescript("BEGIN;" + MIGRATIONS[number - 1] + f"PRAGMA user_version = {number};COMMIT;")
    if fts_available(conn):
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'utterances_fts'").fetchone() is None:
            conn.executescript(FTS)
        # rows from before the index existed (or from a migrated file) get indexed once
        unindexed = "FROM utterances WHERE id NOT IN (SELECT id FROM utterances_fts)"
        if conn.execute(f"SELECT EXISTS (SELECT 1 {unindexed})").fetchone()[0]:
            with conn:
                conn.execute(f"INSERT INTO utterances_fts(id, input_text, transcript) SELECT id, input_text, "
                             f"transcript {unindexed}")
    return start
