"""Keep the process's resident size close to what it really uses (glibc malloc, Linux).

By default glibc raises its mmap threshold up to 32 MB after the first large free, so the
big transient buffers of model loading and inference (the Whisper model read before it is
quantized, onnxruntime activations, long audio arrays) then come from the heap, and their
pages stay resident after they are freed: measured ~100 MB of the app's steady state.
A fixed 1 MiB threshold serves every large block with its own mapping, unmapped on free.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3          # mallopt parameter number (malloc.h)
MMAP_THRESHOLD = 1 << 20


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:             # not glibc (musl, ...)
        return None


def tune_allocator(threshold: int = MMAP_THRESHOLD) -> bool:
    """Large blocks go back to the OS when freed. Call once, early; True when applied."""
    libc = _libc()
    try:
        return bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except AttributeError:
        return False


def release_freed_memory() -> None:
    """Hand freed heap memory back to the OS (after a load or a burst of work)."""
    libc = _libc()
    try:
        if libc is not None:
            libc.malloc_trim(0)
    except AttributeError:
        pass
