"""Do at start, on a background thread, what the first request would otherwise do:

- import the Realtime client stack (openai's websocket glue, websockets' clients, anyio's
  asyncio backend) and Repair, which the first translation imported on the Qt thread
  (27 modules, ~50 ms of its loop stall). Imports on another thread only cost the UI
  thread short GIL slices (<20 ms);
- load the language-ID model (fastText lid.176.ftz, ~20 ms), so the first verification
  does not.

All start-up jobs of the process (the window's verifier load and engine start, this warm-up)
go through one queue, `startup_job`, so they run one at a time instead of side by side."""

from __future__ import annotations

import importlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

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


class StartupSequence:
    """Start-up jobs run one after another on one daemon thread, in the order they were
    submitted. Run side by side (verifier load, engine start, warm-up), they competed for the
    two CPUs and the GIL and were still running when the first request came; CTranslate2's
    model load holds the GIL up to ~150 ms at a time (bench/footprint_bench.py), so it must
    be done early and alone."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any, name: str = "") -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args, name or getattr(fn, "__name__", "job")))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="verbatim-startup", daemon=True)
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            future, fn, args, name = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
                if isinstance(result, Future):   # a job that hands its work on waits for it
                    result = result.result()
            except BaseException as exc:        # one failed job does not stop the next
                log.debug("start-up job %s failed", name, exc_info=True)
                future.set_exception(exc)
            else:
                future.set_result(result)


_sequence = StartupSequence()


def startup_job(fn: Callable[..., Any], *args: Any, name: str = "") -> Future:
    """Queue `fn(*args)` behind the process's other start-up jobs (see StartupSequence)."""
    return _sequence.submit(fn, *args, name=name)


def warm_up() -> None:
    warm_imports()
    try:
        warm_language_id()
    except Exception:
        log.debug("language-id warm-up failed", exc_info=True)


def warm_in_background(delay_s: float = 1.0) -> threading.Thread:
    """Queue the warm-up after `delay_s` (the window is up and has queued its own start-up
    jobs by then: the verifier load and the engine start go first). The thread returned ends
    when the warm-up is done."""
    def run() -> None:
        if delay_s > 0:
            threading.Event().wait(delay_s)
        try:
            startup_job(warm_up, name="warm-up").result()
        except Exception:
            log.debug("warm-up failed", exc_info=True)

    thread = threading.Thread(target=run, name="verbatim-warmup", daemon=True)
    thread.start()
    return thread
