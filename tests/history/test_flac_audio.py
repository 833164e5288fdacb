"""History audio as FLAC: lossless, smaller than WAV on speech, 0600, atomic; entries saved
as WAV before (or without soundfile) still load, replay and export the same."""

import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from app.audio import flacfile
from app.audio.player import ManualSink, Player
from app.audio.resample import resample
from app.audio.wavfile import read_wav, wav_bytes
from app.core.utterance import RepairAttempt, Utterance
from app.history import HistoryStore
from app.history.export import FORMATS, export

TEXT = "The train to the station leaves at seven. Please keep your ticket until the end of the journey."


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Real speech (espeak-ng), 22.05 kHz int16."""
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), TEXT], check=True, capture_output=True)
    pcm, rate = read_wav(path)
    assert len(pcm) / rate > 3
    return pcm, rate


def spoken(speech, rate):
    pcm, source_rate = speech
    u = Utterance("El tren a la estación sale a las siete.", "es", "en", provider="local", voice="verse")
    u.sample_rate = rate
    u.audio = resample(pcm, source_rate, rate)
    u.transcript = TEXT
    u.state = "complete"
    return u


def with_repairs(u):
    u.original_audio = u.audio[: len(u.audio) // 2].copy()
    u.repairs = [RepairAttempt(1, "revoice", "mismatch", 1.0, None, None, u.audio[::-1].copy()),
                 RepairAttempt(2, "revoice", "match", 1.5, None, None, u.audio.copy())]
    return u


def no_soundfile(monkeypatch):
    """soundfile as if it were not installed (import raises ImportError)."""
    monkeypatch.setitem(sys.modules, "soundfile", None)
    monkeypatch.setattr(flacfile, "_missing_logged", False)


def audio_files(d):
    return sorted(p.name for p in (d / "audio").iterdir())


@pytest.mark.parametrize("rate", [24000, 8000])
def test_speech_round_trips_bit_exact_with_original_and_repairs(tmp_path, speech, rate):
    u = with_repairs(spoken(speech, rate))
    assert u.audio.dtype == np.int16 and u.sample_rate == rate
    HistoryStore(tmp_path).save(u)
    assert audio_files(tmp_path) == sorted(f"{u.id}{k}.flac" for k in ("", ".original", ".repair1", ".repair2"))
    back = HistoryStore(tmp_path, read_only=True).get(u.id)
    assert back.sample_rate == rate and "audio_note" not in back.meta
    assert back.audio.dtype == np.int16 and np.array_equal(back.audio, u.audio)
    assert np.array_equal(back.original_audio, u.original_audio)
    assert [np.array_equal(a.audio, b.audio) for a, b in zip(back.repairs, u.repairs, strict=False)] == [True, True]


@pytest.mark.parametrize("rate", [24000, 8000])
def test_flac_is_smaller_than_wav_on_speech(tmp_path, speech, rate):
    u = spoken(speech, rate)
    HistoryStore(tmp_path).save(u)
    flac = (tmp_path / "audio" / f"{u.id}.flac").stat().st_size
    assert flac < 0.75 * len(wav_bytes(u.audio, rate))


def test_audio_files_are_0600_and_no_temporary_file_is_left(tmp_path, speech):
    old = os.umask(0o022)
    try:
        u = with_repairs(spoken(speech, 24000))
        HistoryStore(tmp_path).save(u)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "audio").iterdir()}
    assert len(modes) == 4 and set(modes.values()) == {0o600}
    assert not [n for n in modes if n.endswith(".tmp")]


def exports(u, out):
    return {fmt: export(u, fmt, out / fmt).read_bytes() for fmt in FORMATS}


def test_an_old_wav_entry_loads_replays_and_exports_as_before(tmp_path, speech, monkeypatch):
    u = with_repairs(spoken(speech, 24000))
    expected = exports(u, tmp_path / "from-memory")
    with monkeypatch.context() as m:          # the way entries were written before FLAC
        no_soundfile(m)
        HistoryStore(tmp_path / "h").save(u)
    audio = tmp_path / "h" / "audio"
    assert audio_files(tmp_path / "h") == sorted(f"{u.id}{k}.wav" for k in ("", ".original", ".repair1", ".repair2"))
    assert (audio / f"{u.id}.wav").read_bytes() == wav_bytes(u.audio, 24000)

    back = HistoryStore(tmp_path / "h", read_only=True).get(u.id)
    assert np.array_equal(back.audio, u.audio) and np.array_equal(back.original_audio, u.original_audio)
    assert np.array_equal(back.repairs[0].audio, u.repairs[0].audio)
    assert exports(back, tmp_path / "from-wav") == expected
    # the FLAC-stored entry exports the very same bytes too
    HistoryStore(tmp_path / "f").save(u)
    assert exports(HistoryStore(tmp_path / "f").get(u.id), tmp_path / "from-flac") == expected

    sink = ManualSink()
    player = Player(sink)
    player.load(back.audio, back.sample_rate)
    player.play()
    sink.advance(back.duration_s + 0.1)
    assert player.state == "ended" and player.position_s == pytest.approx(u.duration_s, abs=0.02)


def test_saving_an_old_wav_entry_again_stores_it_as_flac(tmp_path, speech, monkeypatch):
    u = with_repairs(spoken(speech, 8000))
    with monkeypatch.context() as m:
        no_soundfile(m)
        HistoryStore(tmp_path).save(u)
    s = HistoryStore(tmp_path)
    back = s.get(u.id)
    back.meta["verified_again"] = True
    s.save(back)
    assert audio_files(tmp_path) == sorted(f"{u.id}{k}.flac" for k in ("", ".original", ".repair1", ".repair2"))
    again = s.get(u.id)
    assert np.array_equal(again.audio, u.audio) and again.meta["verified_again"] is True


def test_without_soundfile_audio_is_saved_as_wav_and_that_is_logged_once(tmp_path, speech, monkeypatch, caplog):
    no_soundfile(monkeypatch)
    s = HistoryStore(tmp_path)
    first, second = spoken(speech, 24000), spoken(speech, 24000)
    with caplog.at_level(logging.WARNING, logger="app.audio.flacfile"):
        s.save(first)
        s.save(second)
    said = [r.getMessage() for r in caplog.records if "soundfile is unavailable" in r.getMessage()]
    assert len(said) == 1 and "history audio is saved as WAV" in said[0]
    assert audio_files(tmp_path) == sorted([f"{first.id}.wav", f"{second.id}.wav"])
    assert np.array_equal(s.get(first.id).audio, first.audio)


def test_a_flac_entry_read_without_soundfile_says_why_instead_of_failing(tmp_path, speech, monkeypatch):
    u = spoken(speech, 24000)
    HistoryStore(tmp_path).save(u)
    no_soundfile(monkeypatch)
    back = HistoryStore(tmp_path).get(u.id)
    assert back.transcript == TEXT and len(back.audio) == 0
    note = back.meta["audio_note"]
    assert "cannot be read here" in note and "soundfile" in note and "damaged" not in note


def test_a_damaged_flac_file_is_noted_and_a_cut_one_keeps_what_precedes_the_cut(tmp_path, speech):
    u = spoken(speech, 24000)
    s = HistoryStore(tmp_path)
    s.save(u)
    path = tmp_path / "audio" / f"{u.id}.flac"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    cut = s.get(u.id).audio
    assert len(u.audio) // 2 < len(cut) < len(u.audio) and np.array_equal(cut, u.audio[: len(cut)])
    path.write_bytes(b"fLaC" + bytes(200))
    back = s.get(u.id)
    assert len(back.audio) == 0 and "damaged" in back.meta["audio_note"]


def test_when_a_crash_left_both_formats_the_newer_file_is_read(tmp_path, speech):
    u = spoken(speech, 24000)
    s = HistoryStore(tmp_path)
    s.save(u)
    wav = tmp_path / "audio" / f"{u.id}.wav"
    wav.write_bytes(wav_bytes(u.audio[:1000], 24000))          # older: as if left by a crash
    flac = tmp_path / "audio" / f"{u.id}.flac"
    os.utime(wav, ns=(flac.stat().st_mtime_ns - 10**9,) * 2)
    assert np.array_equal(s.get(u.id).audio, u.audio)
    os.utime(wav, ns=(flac.stat().st_mtime_ns + 10**9,) * 2)
    assert np.array_equal(s.get(u.id).audio, u.audio[:1000])


def test_an_answer_without_audio_saves_and_loads_empty(tmp_path):
    u = Utterance("Hola", "es", "en")
    u.transcript, u.state = "Hello", "failed"
    s = HistoryStore(tmp_path)
    s.save(u)
    back = s.get(u.id)
    assert len(back.audio) == 0 and "audio_note" not in back.meta


def test_a_crash_leftover_stays_raw_pcm_and_recovery_stores_it_as_flac(tmp_path, speech):
    u = spoken(speech, 24000)
    full = u.audio
    u.audio, u.state = full[:24000], "streaming"
    s = HistoryStore(tmp_path)
    s.begin(u)
    s.checkpoint(u)
    u.audio = full[:36000]
    s.checkpoint(u)
    partial = tmp_path / "audio" / f"{u.id}.partial.pcm"
    assert partial.read_bytes() == full[:36000].astype("<i2").tobytes()
    s.close()
    s2 = HistoryStore(tmp_path)
    assert s2.recover() == [u.id]
    assert audio_files(tmp_path) == [f"{u.id}.flac"]
    back = s2.get(u.id)
    assert back.state == "incomplete" and np.array_equal(back.audio, full[:36000])
