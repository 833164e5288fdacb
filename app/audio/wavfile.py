"""Reading and writing WAV files without surprises.

The stdlib `wave` module rejects float and G.711 WAVs, which are common outputs of
audio tools, so this reads the RIFF chunks itself: PCM 8/16/24/32-bit, IEEE float
32/64, μ-law, A-law, and WAVE_FORMAT_EXTENSIBLE wrappers of those. Multi-channel
audio is mixed down to mono (Verbatim only ever reasons about one voice).
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from app.audio.codecs import ALAW_TO_PCM, ULAW_TO_PCM

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 1, 3, 6, 7, 0xFFFE


class WavError(ValueError):
    """The bytes are not a WAV file Verbatim can read; the message says why."""


def read_wav(source: str | os.PathLike | bytes) -> tuple[np.ndarray, int]:
    """Return (mono int16 samples, sample rate)."""
    data = source_bytes(source, WavError)
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise WavError("not a WAV file (no RIFF/WAVE header)")
    fmt, payload = _chunks(data)
    tag, channels, rate, bits = _format(fmt)
    frame = max(1, bits // 8) * channels
    payload = payload[: len(payload) - len(payload) % frame]
    decode = _DECODERS.get((tag, bits))
    if decode is None:
        raise WavError(f"unsupported WAV encoding (format tag {tag}, {bits} bits)")
    x = decode(payload)
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    return pcm, int(rate)


def _chunks(data: bytes) -> tuple[bytes, bytes]:
    """The format chunk and the audio of a RIFF/WAVE file."""
    pos = 12
    fmt = None
    payload = None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            payload = body  # a truncated file keeps what is there
            if fmt is not None:
                break
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise WavError("WAV file has no format chunk")
    if payload is None:
        raise WavError("WAV file has no data chunk")
    return fmt, payload


def _format(fmt: bytes) -> tuple[int, int, int, int]:
    """(format tag, channels, rate, bits per sample); an extensible wrapper gives its inner tag."""
    tag, channels, rate, _, _block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if channels < 1 or rate < 1000 or rate > 384000:
        raise WavError(f"implausible WAV header: {channels} channels at {rate} Hz")
    return tag, channels, rate, bits


def _pcm24(payload: bytes) -> np.ndarray:
    b = np.frombuffer(payload, np.uint8).reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    v = np.where(v & 0x800000, v - 0x1000000, v)
    return v.astype(np.float32) / 8388608.0


# (format tag, bits) -> samples as float32 in [-1, 1), interleaved
_DECODERS = {
    (_PCM, 16): lambda p: np.frombuffer(p, "<i2").astype(np.float32) / 32768.0,
    (_PCM, 8): lambda p: (np.frombuffer(p, np.uint8).astype(np.float32) - 128.0) / 128.0,
    (_PCM, 24): _pcm24,
    (_PCM, 32): lambda p: np.frombuffer(p, "<i4").astype(np.float32) / 2147483648.0,
    (_FLOAT, 32): lambda p: np.frombuffer(p, "<f4").astype(np.float32),
    (_FLOAT, 64): lambda p: np.frombuffer(p, "<f8").astype(np.float32),
    (_ULAW, 8): lambda p: ULAW_TO_PCM[np.frombuffer(p, np.uint8)].astype(np.float32) / 32768.0,
    (_ALAW, 8): lambda p: ALAW_TO_PCM[np.frombuffer(p, np.uint8)].astype(np.float32) / 32768.0,
}


def source_bytes(source: str | os.PathLike | bytes, error: type[Exception]) -> bytes:
    """The bytes of an audio file given by path or in memory; an unreadable path raises `error`."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise error(f"cannot read {source}: {exc.strerror or exc}") from exc


def wav_bytes(pcm: np.ndarray, rate: int) -> bytes:
    """Mono int16 samples -> a complete 16-bit PCM WAV file in memory."""
    pcm = np.asarray(pcm, dtype=np.int16)
    body = pcm.astype("<i2").tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(body)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, _PCM, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", len(body))
    return header + body


def write_wav(path: str | os.PathLike, pcm: np.ndarray, rate: int, *, mode: int = 0o600) -> None:
    """Write atomically: a reader never sees a half-written file, even after a crash."""
    write_atomic(path, wav_bytes(pcm, rate), mode=mode)


def write_atomic(path: str | os.PathLike, data: bytes, *, mode: int = 0o600) -> None:
    """Write `data` to a temporary file beside `path`, fsync, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
