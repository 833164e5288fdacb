"""Do at start, on a background thread, what the first request would otherwise do:

- import the Realtime client stack (openai's websocket glue, websockets' clients, anyio's
  asyncio backend) and Repair, which the first translation imported on the Qt thread
  (27 modules, ~50 ms of its loop stall). Imports on another thread only cost the UI
  thread short GIL slices (<20 ms);
- load the language-ID model (fastText lid.176.ftz, ~20 ms), so the first verification
  does not."""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

# What the first translation imported on the Qt thread (bench/footprint_bench.py, stall traces).
FIRST_REQUEST_MODULES = (
    "app.realtime.client",
    "app.pipeline.translate",
    "openai.lib._websocket",
    "websockets.asyncio.client",
    "websockets.sync.client",
    "anyio._backends._asyncio",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "app.repair.repairer",
    "soundfile",              # history keeps audio as FLAC through it (first save)
)


def warm_imports(modules=FIRST_REQUEST_MODULES) -> list[str]:
    """Import `modules`; returns those that failed (a missing optional part is not an error here)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            log.debug("warm-up import of %s failed", name, exc_info=True)
            failed.append(name)
    return failed


def warm_language_id(pause_s: float = 0.0) -> bool:
    """Load the language-ID model and run it once. False when it is unavailable.
    (`pause_s` is kept for callers; the model is small enough to load in one go.)"""
    from app.core import langid

    langid.confidences("warm up")
    return langid.detector() is not None


def warm_in_background(delay_s: float = 1.0) -> threading.Thread:
    """Start the warm-up after `delay_s` (the window is up by then, so start stays quick)."""
    def run() -> None:
        if delay_s > 0:
            threading.Event().wait(delay_s)
        warm_imports()
        try:
            warm_language_id()
        except Exception:
            log.debug("language-id warm-up failed", exc_info=True)

    thread = threading.Thread(target=run, name="verbatim-warmup", daemon=True)
    thread.start()
    return thread
