"""The audio files beside the history database (no Qt).

`<id>.flac` is an answer's audio, `<id>.original.flac` its audio before a repair,
`<id>.repairN.flac` each repair attempt; WAV instead of FLAC when soundfile is unavailable
(and for entries saved before FLAC). `<id>.partial.pcm` is raw audio appended while an
answer streams, so a crash keeps what arrived.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.audio.flacfile import flac_bytes, read_flac
from app.audio.wavfile import read_wav, wav_bytes, write_atomic

from .errors import HistoryError

EXTS = ("flac", "wav")   # what history audio files are; reading takes whichever is there


class AudioFiles:
    def __init__(self, folder: Path) -> None:
        self.dir = folder

    def path(self, uid: str, kind: str = "", ext: str = "flac") -> Path:
        if not uid.replace("-", "").replace("_", "").isalnum():
            raise HistoryError(f"not an utterance id: {uid!r}")
        return self.dir / f"{uid}{'.' + kind if kind else ''}.{ext}"

    def find(self, uid: str, kind: str = "") -> Path | None:
        """The file holding this audio, FLAC or (older entries) WAV; if a crash left both,
        the newer."""
        found = [p for p in (self.path(uid, kind, ext) for ext in EXTS) if p.exists()]
        if len(found) > 1:
            found.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        return found[0] if found else None

    def write(self, uid: str, kind: str, pcm: np.ndarray, rate: int) -> None:
        data, ext = flac_bytes(pcm, rate), "flac"
        if data is None:         # no samples, or soundfile unavailable (logged once)
            data, ext = wav_bytes(pcm, rate), "wav"
        write_atomic(self.path(uid, kind, ext), data)
        for other in EXTS:       # the file just written replaces one in the other format
            if other != ext:
                self.path(uid, kind, other).unlink(missing_ok=True)

    def read(self, uid: str, kind: str, sample_rate: int) -> np.ndarray:
        """The samples at `sample_rate`. Raises FileNotFoundError, WavError or FlacError
        (FlacUnavailable when this machine cannot decode FLAC)."""
        path = self.find(uid, kind)
        if path is None:
            raise FileNotFoundError(kind or "audio")
        pcm, rate = (read_flac if path.suffix == ".flac" else read_wav)(path)
        if rate != sample_rate:
            from app.audio.resample import resample

            pcm = resample(pcm, rate, sample_rate)
        return pcm

    # --- the streaming side file -----------------------------------------------------------
    def partial_path(self, uid: str) -> Path:
        return self.dir / f"{uid}.partial.pcm"

    def append_partial(self, uid: str, audio: np.ndarray) -> None:
        """Append the samples of `audio` the side file does not hold yet.
        What is in the file is what was written: a write cut short (disk full) leaves a
        prefix there, and the next call continues after it instead of repeating it."""
        fd = os.open(self.partial_path(uid), os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0),
                     0o600)
        try:
            size = os.fstat(fd).st_size
            if size % 2:             # half a sample
                size -= 1
                os.ftruncate(fd, size)
            done = size // 2
            if len(audio) <= done:
                return
            data = memoryview(np.asarray(audio[done:], dtype="<i2").tobytes())
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)

    def read_partial(self, uid: str) -> np.ndarray | None:
        partial = self.partial_path(uid)
        if not partial.exists():
            return None
        raw = partial.read_bytes()
        return np.frombuffer(raw[:len(raw) - len(raw) % 2], dtype="<i2").astype(np.int16)

    def remove_all(self, uid: str) -> None:
        for p in self.dir.glob(f"{uid}.*"):
            p.unlink(missing_ok=True)
