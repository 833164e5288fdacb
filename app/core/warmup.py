"""Do at start, on a background thread, what the first request would otherwise do:

- import the Realtime client stack (openai's websocket glue, websockets' clients, anyio's
  asyncio backend) and Repair, which the first translation imported on the Qt thread
  (27 modules, ~50 ms of its loop stall). Imports on another thread only cost the UI
  thread short GIL slices (<20 ms);
- load lingua's language models. The first detection (in the first verification) loads
  all 24 in one call that holds the GIL for ~230 ms, stalling the Qt loop whatever thread
  makes it; loaded one language at a time at start, no single hold exceeds ~75 ms."""

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


def warm_language_id(pause_s: float = 0.005) -> bool:
    """Load lingua's models language by language (they are shared by every detector), then
    build Verbatim's detector. False when lingua is unavailable."""
    try:
        from lingua import IsoCode639_1, LanguageDetectorBuilder
    except ImportError:
        return False
    from app.core import langid
    from app.core.languages import LANGUAGES

    codes = []
    for code in LANGUAGES:
        iso = getattr(IsoCode639_1, code.split("-")[0].upper(), None)
        if iso is not None and iso not in codes:
            codes.append(iso)
    pause = threading.Event()
    for other in codes[1:]:
        try:   # same mode as langid.detector(): low accuracy loads the trigram models only
            pair = LanguageDetectorBuilder.from_iso_codes_639_1(codes[0], other).with_low_accuracy_mode().build()
            pair.compute_language_confidence_values("warm up")
        except Exception:
            log.debug("lingua warm-up for %s failed", other, exc_info=True)
        pause.wait(pause_s)    # let the Qt thread take the GIL between languages
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
