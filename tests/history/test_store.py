import sqlite3

import numpy as np
import pytest

from app.core.report import Report, SegmentResult, WordResult
from app.core.utterance import RepairAttempt, Utterance
from app.history import HistoryError, HistoryStore
from app.history.schema import VERSION
from tests.helpers import utterance


def report(text, status="ok"):
    return Report("match" if status == "ok" else "mismatch", "en", 1.0,
                  [SegmentResult(0, text, 0, len(text), status, 0.0 if status == "ok" else None,
                                 0.9 if status == "ok" else None)],
                  [WordResult("Where", 0, 5, "ok" if status == "ok" else "missing",
                              0.0 if status == "ok" else None, 0.3 if status == "ok" else None)])


def test_full_round_trip_with_report_repairs_and_audio(tmp_path):
    s = HistoryStore(tmp_path)
    u = utterance()
    s.begin(u)
    u.original_audio = u.audio[:12000].copy()
    u.original_report = report(u.transcript, "truncated")
    fixed = u.audio.copy()
    u.repairs = [RepairAttempt(1, "revoice", "match", 1.25, report(u.transcript), None, fixed)]
    u.report = report(u.transcript)
    u.timings = {"first_audio_s": 0.2}
    u.meta = {"response_id": "resp_1", "not_json": object()}
    s.save(u)
    s.close()
    back = HistoryStore(tmp_path).get(u.id)
    assert back.transcript == u.transcript and back.input_text == u.input_text
    assert np.array_equal(back.audio, u.audio)
    assert np.array_equal(back.original_audio, u.original_audio)
    assert back.report.to_dict() == u.report.to_dict()
    assert back.original_report.segments[0].status == "truncated"
    assert back.repairs[0].strategy == "revoice" and np.array_equal(back.repairs[0].audio, fixed)
    assert back.status == "repaired"
    assert back.meta == {"response_id": "resp_1"}
    assert back.timings == {"first_audio_s": 0.2}


def test_search_matches_input_or_transcript_ignoring_accents_and_case(tmp_path):
    s = HistoryStore(tmp_path)
    a, b = utterance("Where is the station?", "¿Dónde está la estación?"), utterance("Thank you.", "Gracias.")
    for u in (a, b):
        s.save(u)
    assert [r.id for r in s.list("station")] == [a.id]
    assert [r.id for r in s.list("ESTACION")] == [a.id]
    assert [r.id for r in s.list("grac")] == [b.id]
    assert s.list('"; DROP TABLE utterances; --') == []
    assert len(s.list()) == 2 and s.list()[0].id == b.id      # newest first


def test_soft_delete_undelete_and_purge(tmp_path):
    s = HistoryStore(tmp_path)
    u = utterance()
    s.save(u)
    assert s.delete(u.id)
    assert s.list() == [] and s.list(deleted=True)[0].id == u.id
    assert s.undelete(u.id) and len(s.list()) == 1
    s.delete(u.id)
    assert s.purge() == 1
    assert s.get(u.id) is None
    assert not list((tmp_path / "audio").glob(f"{u.id}*"))


def test_a_crash_mid_answer_keeps_the_streamed_audio(tmp_path):
    s = HistoryStore(tmp_path)
    u = Utterance("Hola.", "es", "en")
    s.begin(u)
    u.transcript = "Hel"
    u.append_audio(np.full(2400, 100, np.int16))
    s.checkpoint(u)
    u.transcript = "Hello"
    u.append_audio(np.full(1200, 200, np.int16))
    s.checkpoint(u)
    del s   # the process dies: no save(), no close()
    s2 = HistoryStore(tmp_path)
    assert s2.recover() == [u.id]
    back = s2.get(u.id)
    assert back.state == "incomplete" and back.status == "incomplete"
    assert back.transcript == "Hello"
    assert len(back.audio) == 3600 and back.audio[-1] == 200
    assert "closed before" in back.error


def test_a_corrupt_database_is_set_aside_not_deleted(tmp_path):
    s = HistoryStore(tmp_path)
    s.save(utterance())
    s.close()
    db = tmp_path / "history.sqlite3"
    for side in ("history.sqlite3-wal", "history.sqlite3-shm"):
        (tmp_path / side).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    s2 = HistoryStore(tmp_path)
    assert s2.recovered_from is not None and s2.recovered_from.exists()
    assert s2.recovered_from.read_bytes().startswith(b"this is not a database")
    assert "set aside" in s2.warning
    assert s2.list() == []
    s2.save(utterance())                       # and the new one works
    assert len(s2.list()) == 1


def test_an_older_schema_is_migrated_keeping_its_rows(tmp_path):
    from app.history.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / "history.sqlite3")
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO utterances (id, created_at, input_text, source_language, target_language, transcript,"
                 " state, status) VALUES ('old1', 1.0, 'Hola', 'es', 'en', 'Hello there', 'complete', 'match')")
    conn.commit()
    conn.close()
    s = HistoryStore(tmp_path)
    assert s.migrated_from == 1
    assert sqlite3.connect(tmp_path / "history.sqlite3").execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert [r.id for r in s.list("hello")] == ["old1"]        # indexed for search too
    u = s.get("old1")
    assert u.transcript == "Hello there" and len(u.audio) == 0


def test_a_missing_audio_file_still_loads_with_a_note(tmp_path):
    s = HistoryStore(tmp_path)
    u = utterance()
    s.save(u)
    (tmp_path / "audio" / f"{u.id}.flac").unlink()
    back = s.get(u.id)
    assert len(back.audio) == 0 and "missing" in back.meta["audio_note"]


def test_a_newer_schema_is_refused_without_touching_it(tmp_path):
    from app.history import HistoryError

    conn = sqlite3.connect(tmp_path / "history.sqlite3")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError):
        HistoryStore(tmp_path)
    assert (tmp_path / "history.sqlite3").exists()


def test_rows_are_written_by_column_name_and_keep_what_is_set_once(tmp_path):
    from app.history import rows

    u = utterance()
    u.meta = {"response_id": "resp_1", "not_json": object()}
    params = rows.params(u, now=123.0)
    assert tuple(params) == rows.COLUMNS and rows.UPSERT.count(":") == len(rows.COLUMNS)
    assert params["updated_at"] == 123.0 and params["meta_json"] == '{"response_id": "resp_1"}'
    s = HistoryStore(tmp_path)
    s.save(u)
    first_created, first_source = u.created_at, u.source_language
    u.created_at, u.source_language, u.transcript = first_created + 60, "fr", "Changed."
    s.save(u)                          # a later save updates the answer, not when or from what it was asked
    back = s.get(u.id)
    assert (back.created_at, back.source_language, back.transcript) == (first_created, first_source, "Changed.")
    with pytest.raises(HistoryError, match="not an utterance id"):
        s.files.path("../x")
