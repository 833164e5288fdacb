"""Where there is voice: 10 ms energy frames, and long audio cut into Whisper-sized windows."""

from __future__ import annotations

import numpy as np

from app.verify.options import DEFAULT_OPTIONS, VerifyOptions

SR = 16000            # Whisper's sample rate; all audio is resampled to it
HOP = 160             # samples per energy frame: 10 ms
FRAMES_PER_S = 100


def voiced_frames(x: np.ndarray, opt: VerifyOptions | None = None) -> np.ndarray:
    """Boolean per 10 ms frame: is there voice (energy well above the floor)?"""
    opt = opt or DEFAULT_OPTIONS
    n = len(x) // HOP
    if n == 0:
        return np.zeros(0, dtype=bool)
    frames = x[: n * HOP].reshape(n, HOP)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    peak = float(np.percentile(rms, opt.voice_peak_pct)) if n else 0.0
    floor = float(np.percentile(rms, opt.voice_floor_pct))
    thr = max(opt.voice_floor_abs, floor * opt.voice_floor_ratio, peak * opt.voice_peak_ratio)
    return rms > thr


def voiced_between(voiced: np.ndarray, a: float, b: float) -> float:
    """Seconds of voice between `a` and `b` seconds."""
    i, j = max(0, int(a * FRAMES_PER_S)), min(len(voiced), int(np.ceil(b * FRAMES_PER_S)))
    return float(voiced[i:j].sum()) / FRAMES_PER_S if j > i else 0.0


def voiced_s(voiced: np.ndarray) -> float:
    """Seconds of voice in all."""
    return float(voiced.sum()) / FRAMES_PER_S


def voice_end(voiced: np.ndarray) -> float:
    """Where the last voice ends (the audio's end if there is none), in seconds."""
    idx = np.nonzero(voiced)[0]
    return (idx[-1] + 1) / FRAMES_PER_S if len(idx) else len(voiced) / FRAMES_PER_S


def split_windows(voiced: np.ndarray, n_samples: int, opt: VerifyOptions) -> list[tuple[int, int]]:
    """Cut long audio into ≤ window_s pieces at the quietest moment near each limit:
    [(first sample, end sample)]."""
    total = n_samples / SR
    if total <= opt.window_s + opt.window_slack_s:
        return [(0, n_samples)]
    out = []
    start = 0.0
    while total - start > opt.window_s + opt.window_slack_s:
        lo = int((start + opt.window_s - opt.window_cut_search_s) * FRAMES_PER_S)
        hi = int((start + opt.window_s) * FRAMES_PER_S)
        seg = voiced[lo:hi].astype(np.int32)
        # longest run of silence in [lo, hi); else the end of the window
        best, best_len, run_start = hi, 0, None
        for k, v in enumerate(seg):
            if not v and run_start is None:
                run_start = k
            if (v or k == len(seg) - 1) and run_start is not None:
                length = k - run_start + (0 if v else 1)
                if length >= best_len:
                    best, best_len = lo + run_start + length // 2, length
                run_start = None
        cut = best / FRAMES_PER_S
        out.append((int(start * SR), int(cut * SR)))
        start = cut
    out.append((int(start * SR), n_samples))
    return out


def snap(w, voiced: np.ndarray, opt: VerifyOptions) -> None:
    """Move a word's start to its voice onset and its end to its voice offset."""
    i, j = int(round(w.start * FRAMES_PER_S)), int(round(w.end * FRAMES_PER_S))
    i, j = max(0, i), min(len(voiced), j)
    if j - i < round(opt.snap_min_s * FRAMES_PER_S):
        return
    idx = np.nonzero(voiced[i:j])[0]
    if len(idx) == 0:
        return
    ns, ne = (i + idx[0]) / FRAMES_PER_S, (i + idx[-1] + 1) / FRAMES_PER_S
    if ne - ns >= opt.snap_min_s:
        w.start, w.end = max(w.start, ns), min(w.end, ne)
