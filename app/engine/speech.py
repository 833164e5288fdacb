"""Turns the engine's speech plan into wire audio, and records what it really said."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np

from app.audio.codecs import encode, get_format
from app.audio.resample import resample
from app.tts import synthesize

from .faults import Chunk

OUTPUT_RATE = 24000
CACHE_BYTES = 64 << 20    # audio kept for repeated requests, whatever the number of entries


@dataclass
class Spoken:
    """Ground truth for one chunk of speech: what was said, in which language, where."""
    text: str
    language: str
    voice: str
    sentence: int | None
    start_sample: int          # at 24 kHz, whatever the wire format
    end_sample: int
    start_s: float
    end_s: float

    def to_dict(self) -> dict:
        return asdict(self)


class SpeechCache:
    """Least-recently-used audio by (text, language, voice, speed), bounded by the bytes it holds."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple[str, str, str, float], tuple[np.ndarray, str]] = OrderedDict()
        self._lock = threading.Lock()   # synthesis runs in worker threads

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[str, str, str, float]) -> tuple[np.ndarray, str] | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple[str, str, str, float], value: tuple[np.ndarray, str]) -> None:
        size = value[0].nbytes
        with self._lock:
            if size > self.max_bytes or key in self._items:
                return
            self._items[key] = value
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (old, _) = self._items.popitem(last=False)
                self.bytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0


cache = SpeechCache()


def _speak(text: str, language: str, voice: str, speed: float = 1.0) -> tuple[np.ndarray, str]:
    # Cached: the same request gets the same audio (espeak keeps a little state between calls,
    # Piper samples noise), and repairs that re-voice a sentence cost nothing.
    key = (text, language, voice, speed)
    hit = cache.get(key)
    if hit is not None:
        return hit
    syn = synthesize(text, language, voice, speed=speed)
    pcm = resample(syn.samples, syn.sample_rate, OUTPUT_RATE)
    pcm.setflags(write=False)
    cache.put(key, (pcm, syn.voice))
    return pcm, syn.voice


def render(chunk: Chunk, voice: str, offset: int, speed: float = 1.0) -> tuple[np.ndarray, Spoken]:
    """Speak one chunk at 24 kHz; `offset` is where it starts in the response's audio. `speed`
    is the session's (Piper's length_scale, espeak's words per minute): audio about 1/speed as long."""
    pcm, used = _speak(chunk.text, chunk.language, voice, speed)
    end = offset + len(pcm)
    return pcm, Spoken(chunk.text, chunk.language, used, chunk.sentence, offset, end,
                       round(offset / OUTPUT_RATE, 4), round(end / OUTPUT_RATE, 4))


def to_wire(pcm24: np.ndarray, audio_format: str) -> bytes:
    fmt = get_format(audio_format)
    if fmt.sample_rate != OUTPUT_RATE:
        pcm24 = resample(pcm24, OUTPUT_RATE, fmt.sample_rate)
    return encode(pcm24, fmt)


def split_wire(data: bytes, audio_format: str, seconds: float) -> list[bytes]:
    fmt = get_format(audio_format)
    step = max(fmt.bytes_per_sample, int(fmt.sample_rate * seconds) * fmt.bytes_per_sample)
    return [data[i:i + step] for i in range(0, len(data), step)]
