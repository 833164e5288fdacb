"""Run verifications on one background thread so callers (the Qt loop) never block.

`submit()` returns a `concurrent.futures.Future[Report]` at once (`submit_prefix()` a
`Future[PrefixReport]` for an answer still arriving); asyncio code awaits it
with `asyncio.wrap_future`. Errors (model missing, bad input) come back through the
future. One thread is enough: Whisper already uses both cores, and a queue keeps
utterances in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from app.core.report import Report
from app.verify.models import DEFAULT_MODEL
from app.verify.prefix import PrefixReport, prefix_text, prefix_view
from app.verify.verifier import Verifier


class VerifierWorker:
    def __init__(self, model: str = DEFAULT_MODEL, threads: int | None = None, *,
                 verifier: Verifier | None = None) -> None:
        self.verifier = verifier or Verifier(model, threads=threads)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verbatim-verifier")
        self._closed = False
        self._lock = threading.Lock()
        self._warm: Future | None = None

    @property
    def model(self) -> str:
        return self.verifier.model_spec

    def warm(self, progress: Callable[[int, int], None] | None = None) -> Future:
        """Load (assemble, or download a user-chosen model) in the background; returns a future
        of None. `progress(done_bytes, total_bytes)` is called on the loading thread while a
        model downloads; only the first call's loading reports it."""
        with self._lock:
            self._check_open()
            if self._warm is None:
                self._warm = self._pool.submit(lambda: (self.verifier.load(progress), None)[1])
            return self._warm

    def submit(self, transcript: str, audio: np.ndarray, sample_rate: int,
               language: str, source_language: str | None = None) -> Future[Report]:
        with self._lock:
            self._check_open()
            # no copy (it cost the Qt thread ~1 ms per 10 s of audio): the caller must not write
            # into `audio` afterwards; Utterance.append_audio only writes past the views it gave out
            pcm = np.asarray(audio, dtype=np.int16) if audio is not None else np.zeros(0, np.int16)
            return self._pool.submit(self.verifier.verify, transcript, pcm, int(sample_rate), language,
                                     source_language)

    def submit_prefix(self, transcript: str, audio: np.ndarray, sample_rate: int,
                      language: str, source_language: str | None = None) -> Future[PrefixReport]:
        """The audio so far of an answer still arriving: which of the transcript's first words
        it says as written, and whether what it has said so far is certainly wrong; sentences
        it has not reached are pending, not flagged (see `app.verify.prefix`)."""
        with self._lock:
            self._check_open()
            pcm = np.asarray(audio, dtype=np.int16) if audio is not None else np.zeros(0, np.int16)
            verify = self.verifier.verify
            head = prefix_text(transcript or "", len(pcm) / max(1, int(sample_rate)))
            return self._pool.submit(lambda: prefix_view(
                verify(head, pcm, int(sample_rate), language, source_language), head))

    def close(self, wait: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the verifier has been closed")

    def __enter__(self) -> VerifierWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
