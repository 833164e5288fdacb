"""Fuzzing what `python -m app check` reads before the recognizer (issue 24): any bytes as
audio (WAV headers bent every way, raw pcm16/G.711), any bytes as a transcript file. Each
case is a decoded (int16 samples, plausible rate) or a one-line BadInput — never another
exception, and never more samples than the bytes could hold. The recognizer is left out so
the budget fits; tests/verify covers it. Budget: see tests/fuzz/common.py.
"""

from __future__ import annotations

import struct
import types

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from app.verify import command
from tests.fuzz.common import BUDGET


def wav(channels=1, rate=24000, bits=16, fmt_tag=1, data=b"\x00\x01" * 100, fmt_size=16,
        riff_size=None, data_size=None, extra=b"") -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
    fmt = fmt[:fmt_size] + b"\x00" * max(0, fmt_size - len(fmt))
    body = (b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt + extra
            + b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


u32 = st.integers(0, 2 ** 32 - 1)
u16 = st.integers(0, 2 ** 16 - 1)
wav_files = st.builds(
    wav, channels=u16 | st.integers(1, 2), rate=u32 | st.sampled_from([8000, 24000, 48000]),
    bits=u16 | st.sampled_from([8, 16, 24, 32]), fmt_tag=u16 | st.sampled_from([1, 3, 6, 7, 0xFFFE]),
    data=st.binary(max_size=600), fmt_size=st.integers(0, 40) | st.just(16),
    riff_size=st.none() | u32, data_size=st.none() | u32,
    extra=st.binary(max_size=40) | st.just(b"LIST\x04\x00\x00\x00abcd"),
)
audio_bytes = wav_files | st.binary(max_size=800) | wav_files.map(lambda b: b[: len(b) // 2])
formats = st.sampled_from([None, "pcm16", "g711_ulaw", "g711_alaw", "wav", "mp3", ""])
rates = st.none() | st.integers(-10, 10 ** 7)


@BUDGET
@given(data=audio_bytes, fmt=formats, rate=rates)
@example(data=wav(channels=0), fmt=None, rate=None)
@example(data=wav(bits=0), fmt=None, rate=None)
@example(data=wav(rate=0), fmt=None, rate=None)
@example(data=wav(data_size=2 ** 32 - 1), fmt=None, rate=None)
@example(data=b"RIFF", fmt=None, rate=None)
@example(data=b"", fmt="pcm16", rate=None)
@example(data=b"\x01", fmt="pcm16", rate=None)
def test_any_audio_file_decodes_or_is_refused_in_one_line(tmp_path_factory, data, fmt, rate):
    path = tmp_path_factory.mktemp("a") / "clip.wav"
    path.write_bytes(data)
    try:
        pcm, sr = command._load_audio(str(path), fmt, rate)
    except command.BadInput as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(pcm, np.ndarray) and pcm.dtype == np.int16
    assert 1000 <= sr <= 384_000
    assert pcm.size <= len(data)          # at most one sample per byte (G.711, 8-bit WAV)


@BUDGET
@given(data=st.binary(max_size=400) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(data=b"\xef\xbb\xbf")
@example(data=b"<|endoftext|>")
@example(data=b"\x00" * 50)
def test_any_transcript_file_is_text_or_refused_in_one_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("t") / "transcript.txt"
    path.write_bytes(data)
    args = types.SimpleNamespace(transcript_file=str(path), transcript=None)
    try:
        text = command._load_transcript(args)
    except command.BadInput as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(text, str) and text.strip()
