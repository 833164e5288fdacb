"""Sample-rate conversion with soxr (high quality, fast, no scipy needed)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(x: np.ndarray, rate_in: int, rate_out: int, quality: str = "HQ") -> np.ndarray:
    """Resample mono audio; int16 in -> int16 out, float in -> float32 out."""
    if rate_in == rate_out or len(x) == 0:
        return x
    if x.dtype == np.int16:
        y = soxr.resample(x.astype(np.float32) / 32768.0, rate_in, rate_out, quality=quality)
        return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)
    return soxr.resample(np.asarray(x, dtype=np.float32), rate_in, rate_out, quality=quality)


class StreamResampler:
    """Chunk-by-chunk conversion with no seams between chunks (soxr's stream state);
    int16 in -> int16 out, float in -> float32 out, as `resample`. `last=True` flushes."""

    def __init__(self, rate_in: int, rate_out: int, quality: str = "HQ") -> None:
        self.stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32", quality=quality)

    def __call__(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        if x.dtype == np.int16:
            y = self.stream.resample_chunk(x.astype(np.float32) / 32768.0, last=last)
            return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)
        return self.stream.resample_chunk(np.asarray(x, dtype=np.float32), last=last)
