"""Realtime audio formats: pcm16 (24 kHz) and G.711 μ-law / A-law (8 kHz).

`audioop` left the standard library in Python 3.13, so G.711 is done with numpy
lookup tables (decode) and the ITU-T reference algorithm vectorised (encode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class AudioFormat:
    name: str          # beta / Azure legacy name: pcm16, g711_ulaw, g711_alaw
    ga_type: str       # GA name: audio/pcm, audio/pcmu, audio/pcma
    sample_rate: int
    bytes_per_sample: int


PCM16 = AudioFormat("pcm16", "audio/pcm", 24000, 2)
G711_ULAW = AudioFormat("g711_ulaw", "audio/pcmu", 8000, 1)
G711_ALAW = AudioFormat("g711_alaw", "audio/pcma", 8000, 1)
FORMATS = {f.name: f for f in (PCM16, G711_ULAW, G711_ALAW)}
_BY_GA = {f.ga_type: f for f in (PCM16, G711_ULAW, G711_ALAW)}


def get_format(name: str) -> AudioFormat:
    """Accept either naming ('pcm16' or 'audio/pcm', 'g711_ulaw' or 'audio/pcmu')."""
    fmt = FORMATS.get(name) or _BY_GA.get(name)
    if fmt is None:
        raise ValueError(f"unknown audio format {name!r}; use pcm16, g711_ulaw or g711_alaw")
    return fmt


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    sample = magnitude - 0x84
    return np.where(sign != 0, -sample, sample).astype(np.int16)


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


ULAW_TO_PCM = _ulaw_table()
ALAW_TO_PCM = _alaw_table()


def ulaw_encode(pcm: np.ndarray) -> bytes:
    x = pcm.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def alaw_encode(pcm: np.ndarray) -> bytes:
    x = pcm.astype(np.int32)
    sign = np.where(x >= 0, 0x80, 0)
    mag = np.minimum(np.abs(x), 32767)
    exponent = np.where(mag >= 256, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 7, 0)
    exponent = np.clip(exponent, 0, 7)
    mantissa = np.where(exponent == 0, mag >> 4, mag >> (exponent + 3)) & 0x0F
    return (((sign | (exponent << 4) | mantissa) ^ 0x55) & 0xFF).astype(np.uint8).tobytes()


def decode(data: bytes, fmt: AudioFormat | str) -> np.ndarray:
    """Bytes in a Realtime format -> int16 samples at the format's rate."""
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    if fmt is PCM16:
        if len(data) % 2:
            data = data[:-1]  # a torn sample at the end of a delta; never crash on it
        return np.frombuffer(data, dtype="<i2").astype(np.int16, copy=False)
    table = ULAW_TO_PCM if fmt is G711_ULAW else ALAW_TO_PCM
    return table[np.frombuffer(data, dtype=np.uint8)]


def encode(pcm: np.ndarray, fmt: AudioFormat | str) -> bytes:
    """int16 samples (already at the format's rate) -> bytes in that format."""
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    pcm = np.asarray(pcm, dtype=np.int16)
    if fmt is PCM16:
        return pcm.astype("<i2").tobytes()
    return ulaw_encode(pcm) if fmt is G711_ULAW else alaw_encode(pcm)


def to_float(pcm: np.ndarray) -> np.ndarray:
    return (np.asarray(pcm, dtype=np.float32) / 32768.0).astype(np.float32, copy=False)


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32767.0), -32768, 32767).astype(np.int16)
