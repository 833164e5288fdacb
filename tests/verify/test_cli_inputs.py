"""`check` reads regular files only, and only up to its caps: /dev/zero, a FIFO or a folder
is refused unread, a too-large file is refused by its size (issue 24, "Files"). No speech
model is needed: every case is refused before the recognizer."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from app.verify.command import AUDIO_LIMIT, TRANSCRIPT_LIMIT, _load_transcript

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    def bounded():   # an unbounded read must fail here, not fill the test machine's memory
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run([sys.executable, "-m", "app", "check", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, preexec_fn=bounded)


@pytest.fixture
def files(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big_audio = tmp_path / "big.wav"
    with open(big_audio, "wb") as f:   # sparse: nothing is really written
        f.truncate(AUDIO_LIMIT + 1)
    big_text = tmp_path / "big.txt"
    with open(big_text, "wb") as f:
        f.truncate(TRANSCRIPT_LIMIT + 1)
    return {"fifo": fifo, "dir": tmp_path, "big_audio": big_audio, "big_text": big_text,
            "missing": tmp_path / "missing.wav"}


@pytest.mark.parametrize("args, needle", [
    (["/dev/zero", "--transcript", "Hi."], "audio path is not a regular file"),
    (["{missing}", "--transcript-file", "/dev/zero"], "transcript path is not a regular file"),
    (["{fifo}", "--transcript", "Hi."], "audio path is not a regular file"),
    (["{missing}", "--transcript-file", "{fifo}"], "transcript path is not a regular file"),
    (["{dir}", "--transcript", "Hi."], "audio path is a directory"),
    (["{missing}", "--transcript-file", "{dir}"], "transcript path is a directory"),
    (["{big_audio}", "--transcript", "Hi."], "audio file is larger than 200 MB"),
    (["{missing}", "--transcript-file", "{big_text}"], "transcript file is larger than 1 MB"),
])
def test_non_regular_or_oversized_input_is_refused_with_exit_2(files, args, needle):
    p = _run(*[a.format(**files) for a in args])
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr and p.stderr.count("\n") == 1
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_caps_are_what_the_docs_say():
    assert AUDIO_LIMIT == 200 * 1024 * 1024 and TRANSCRIPT_LIMIT == 1024 * 1024
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "200 MB" in readme and "1 MB" in readme


def test_a_transcript_file_at_the_cap_reads_as_text_did(tmp_path):
    """CRLF and a BOM read as before (the char offsets in --json depend on it)."""
    tf = tmp_path / "t.txt"
    tf.write_bytes("\ufeffOne.\r\nTwo.\rThree.".encode() + b" " * (TRANSCRIPT_LIMIT - 20))
    text = _load_transcript(argparse.Namespace(transcript_file=str(tf), transcript=None))
    assert text.rstrip() == "One.\nTwo.\nThree."
