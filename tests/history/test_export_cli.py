import json
import re
import subprocess
import sys
from pathlib import Path

from app.audio.wavfile import read_wav
from app.core.report import Report, SegmentResult
from app.history import HistoryStore
from app.history.export import export, to_srt, to_vtt

from .test_store import utterance

ROOT = Path(__file__).resolve().parents[2]


def two_sentence(tmp_path):
    s = HistoryStore(tmp_path)
    u = utterance("Good morning. Now I can barely hear myself.", "Buenos días. Ahora apenas me oigo.", seconds=2.0)
    u.report = Report("mismatch", "en", 2.0, [
        SegmentResult(0, "Good morning.", 0, 13, "ok", 0.1, 0.9),
        SegmentResult(1, "Now I can barely hear myself.", 14, 43, "truncated", None, None)], [])
    s.save(u)
    return s, u


def test_subtitles_have_valid_cues_at_verified_times(tmp_path):
    _, u = two_sentence(tmp_path)
    srt = to_srt(u)
    assert srt.startswith("1\n00:00:00,100 --> 00:00:00,900\nGood morning.\n")
    assert "[not spoken] Now I can barely hear myself." in srt
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d)[,.](\d{3}) --> (\d\d):(\d\d):(\d\d)[,.](\d{3})", srt)
    assert len(stamps) == 2
    vtt = to_vtt(u)
    assert vtt.startswith("WEBVTT\n") and "00:00:00.100 --> 00:00:00.900" in vtt


def test_export_wav_and_json_read_back(tmp_path):
    _, u = two_sentence(tmp_path / "h")
    wav = export(u, "wav", tmp_path / "out")
    pcm, rate = read_wav(wav)
    assert rate == 24000 and len(pcm) == len(u.audio)
    data = json.loads(export(u, "json", tmp_path / "out").read_text())
    assert data["transcript"] == u.transcript and data["report"]["segments"][1]["status"] == "truncated"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "app", "history", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_lists_shows_exports_and_deletes(tmp_path):
    s, u = two_sentence(tmp_path / "h")
    s.close()
    d = str(tmp_path / "h")
    r = cli("--dir", d, "list", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)[0]["id"] == u.id
    r = cli("--dir", d, "show", u.id)
    assert r.returncode == 0 and "not spoken" in r.stdout
    r = cli("--dir", d, "export", u.id, "--format", "srt", "--out", str(tmp_path / "x"))
    assert r.returncode == 0 and Path(r.stdout.strip()).read_text().startswith("1\n")
    r = cli("--dir", d, "delete", u.id)
    assert r.returncode == 0
    assert json.loads(cli("--dir", d, "list", "--json").stdout) == []
    r = cli("--dir", d, "show", "nope")
    assert r.returncode == 2 and "no history entry" in r.stderr
    r = cli("--dir", d, "undelete", u.id)
    assert r.returncode == 0 and r.stdout.strip() == f"restored {u.id}"
    assert [e["id"] for e in json.loads(cli("--dir", d, "list", "--json").stdout)] == [u.id]
    r = cli("--dir", d, "undelete", "nope")
    assert r.returncode == 2 and "no history entry" in r.stderr
