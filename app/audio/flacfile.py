"""FLAC for the history's audio: lossless, so a saved answer reads back sample for sample,
and about half the size of WAV on speech.

`soundfile` (which bundles libsndfile) is imported on first use, not at start. Without it
`flac_bytes` returns None and the caller keeps WAV; that is logged once.
"""

from __future__ import annotations

import io
import logging
import os

import numpy as np

from app.audio.wavfile import source_bytes

log = logging.getLogger(__name__)

_BLOCK = 1 << 16               # frames per read: a damaged tail still gives back what precedes it
_missing_logged = False


class FlacError(ValueError):
    """The bytes are not FLAC Verbatim can read; the message says why."""


class FlacUnavailable(FlacError):
    """soundfile is missing here, so FLAC cannot be read at all."""


def _soundfile():
    try:
        import soundfile
    except (ImportError, OSError) as exc:   # OSError: the package is there, libsndfile would not load
        return None, exc
    return soundfile, None


def available() -> bool:
    return _soundfile()[0] is not None


def flac_bytes(pcm: np.ndarray, rate: int) -> bytes | None:
    """Mono int16 samples -> a FLAC file in memory, or None when FLAC cannot hold them (no
    samples, a rate FLAC lacks) or soundfile is unavailable: then write WAV instead."""
    global _missing_logged
    pcm = np.asarray(pcm, dtype=np.int16)
    if not len(pcm):
        return None                # libsndfile writes nothing at all for zero frames
    sf, why = _soundfile()
    if sf is None:
        if not _missing_logged:
            _missing_logged = True
            log.warning("soundfile is unavailable (%s); history audio is saved as WAV", why)
        return None
    buf = io.BytesIO()
    try:
        sf.write(buf, pcm, int(rate), format="FLAC", subtype="PCM_16")
    except (RuntimeError, ValueError, TypeError) as exc:
        log.warning("could not encode %d samples at %d Hz as FLAC (%s); saving WAV", len(pcm), rate, exc)
        return None
    return buf.getvalue()


def read_flac(source: str | os.PathLike | bytes) -> tuple[np.ndarray, int]:
    """Return (mono int16 samples, sample rate). A file cut short gives back the audio
    before the cut, as `read_wav` does."""
    sf, why = _soundfile()
    if sf is None:
        raise FlacUnavailable(f"FLAC audio needs the soundfile package, which is unavailable ({why})")
    data = source_bytes(source, FlacError)
    blocks: list[np.ndarray] = []
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate, channels = f.samplerate, f.channels
            while True:
                block = f.read(_BLOCK, dtype="int16", always_2d=True)
                if not len(block):
                    break
                blocks.append(block)
    except (RuntimeError, ValueError, TypeError) as exc:
        if not blocks:
            raise FlacError(f"not a FLAC file Verbatim can read ({exc})") from exc
        log.warning("FLAC audio damaged after %d frames (%s); keeping those", sum(map(len, blocks)), exc)
    x = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.int16)
    if channels == 1:
        return np.ascontiguousarray(x[:, 0]), int(rate)
    return np.round(x.mean(axis=1)).astype(np.int16), int(rate)
