"""`python -m app check`: exit codes 0/1/2 and the JSON contract, through a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import speak

from app.audio.codecs import encode
from app.audio.resample import resample
from app.audio.wavfile import write_wav

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Please send me the report before lunch. We need to buy more coffee for the office."


def _run(*args, timeout=120):
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run([sys.executable, "-m", "app", "check", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    d = tmp_path_factory.mktemp("check")
    a = speak("Please send me the report before lunch.", "en")
    b = speak("We need to buy more coffee for the office.", "en")
    import numpy as np

    pcm = np.concatenate([a.samples, np.zeros(5000, np.int16), b.samples])
    path = d / "both.wav"
    write_wav(path, pcm, a.sample_rate)
    half = d / "first.wav"
    write_wav(half, a.samples, a.sample_rate)
    raw = d / "both.pcm16"
    raw.write_bytes(encode(resample(pcm, a.sample_rate, 24000), "pcm16"))
    return {"full": path, "half": half, "raw": raw, "dir": d}


def test_match_exit_0_with_json(wav):
    p = _run(wav["full"], "--transcript", TEXT, "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert list(d) == ["verdict", "uncertain", "language", "audio_duration_s", "segments", "words", "engine",
                       "elapsed_s"]
    assert d["verdict"] == "match" and d["language"] == "en"
    seg = d["segments"][0]
    assert list(seg) == ["index", "text", "char_start", "char_end", "status", "confidence", "start_s", "end_s",
                         "heard", "heard_language"]
    assert list(d["words"][0]) == ["text", "char_start", "char_end", "status", "start_s", "end_s"]
    assert d["engine"]["asr"] == "faster-whisper"


def test_mismatch_exit_1_human_summary(wav):
    p = _run(wav["half"], "--transcript", TEXT)
    assert p.returncode == 1, p.stderr
    assert "MISMATCH" in p.stdout and "truncated" in p.stdout


def test_raw_pcm16_with_transcript_file(wav):
    tf = wav["dir"] / "t.txt"
    tf.write_text(TEXT, encoding="utf-8")
    p = _run(wav["raw"], "--format", "pcm16", "--rate", "24000", "--transcript-file", tf, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdict"] == "match"


@pytest.mark.parametrize("args, needle", [
    (["{dir}/missing.wav", "--transcript", "Hi."], "not found"),
    (["{corrupt}", "--transcript", "Hi."], "WAV"),
    (["{full}", "--transcript", "   "], "empty"),
    (["{full}", "--transcript", "Hi.", "--language", "xx"], "unknown language"),
    (["{full}", "--transcript-file", "{dir}/nope.txt"], "not found"),
])
def test_bad_input_exit_2(wav, args, needle):
    corrupt = wav["dir"] / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    fmt = {"dir": wav["dir"], "corrupt": corrupt, "full": wav["full"]}
    p = _run(*[a.format(**fmt) for a in args])
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle.lower() in p.stderr.lower()
    assert "Traceback" not in p.stderr
    assert p.stdout == ""
