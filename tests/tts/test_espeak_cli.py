"""The espeak-ng command-line fallback speaks the text it is given, whatever it looks like."""

import shutil

import pytest

from app.tts import espeak

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is installed by the test setup")


def seconds(text):
    pcm = espeak._synth_cli(text, "en-us", 165, 50)
    return len(pcm) / 22050


def test_text_that_looks_like_an_option_is_spoken_not_obeyed(tmp_path):
    secret = tmp_path / "notes.txt"
    secret.write_text("This private file must never be read aloud. " * 20)
    file_s = seconds(secret.read_text())
    text = f"-f{secret}"
    said = seconds(text)
    assert file_s > 20
    assert said < file_s / 3, "espeak-ng read the file named in the text"
    assert said == pytest.approx(seconds(f"f {secret}"), rel=0.5)   # it spoke the characters themselves


def test_the_hostname_file_is_not_read_either():
    hostname = open("/etc/hostname").read().strip()
    said = seconds("-f/etc/hostname")
    assert said > 1.5 * seconds(hostname) or said > 2.0   # "f slash etc slash hostname", not the host's name
    assert said == pytest.approx(seconds("f/etc/hostname"), rel=0.5)


@pytest.mark.parametrize("text", ["--version", "-v xx --stdout", "-w /tmp/espeak-out.wav", "Ünïcödé, ñ"])
def test_other_option_like_texts_are_spoken(text):
    assert seconds(text) > 0.3
