"""Loading the verifier's speech model in the background, with the status bar's progress bar.

A part of MainWindow (app/ui/main_window.py); it reads and sets the window's attributes.
"""

from __future__ import annotations

import logging

from shiboken6 import isValid

from app.core.warmup import startup_job

log = logging.getLogger(__name__)
MODEL_PROGRESS = "model %p%"         # the status bar while the speech model is fetched or assembled
MODEL_LOADING = "loading model…"     # ... and once all of it is there, until it is loaded


def _outcome(future) -> str:
    """A model load's end, as the window shows it: "ok" or "error:<why>"."""
    if future.cancelled():
        return "error:cancelled"
    return "ok" if future.exception() is None else f"error:{future.exception()}"



class ModelLoading:
    # --- verifier model: load in the background, with a progress bar -----------------------
    def warm_verifier(self) -> None:
        """Load the speech model now (assembling or downloading a user-chosen one first), so
        the first answer is checked without waiting; the status bar shows the progress."""
        self._model_generation += 1
        generation = self._model_generation
        self.model_bar.hide()
        self.verifier_label.setText("Verifier: loading…")
        self.verifier_label.setToolTip(f"Speech model: {self.settings.verifier_model}")
        to_ui, services = self.to_ui, self.services

        def progress(done: int, total: int) -> None:     # on the download thread
            to_ui(self._from_loader, generation, self._show_model_progress,
                  int(done // 1024), int(max(total, 1) // 1024))

        def loaded(result: str) -> None:
            to_ui(self._from_loader, generation, self._model_loaded, result)

        def load():
            # building the worker imports app.verify (faster-whisper, CTranslate2): ~100 ms of
            # imports that would stall the Qt loop at start
            try:
                future = services.verifier().warm(progress=progress)
            except Exception as exc:
                loaded(f"error:{exc}")
                return None
            future.add_done_callback(lambda f: loaded(_outcome(f)))
            # at start the queue waits for the load (nothing else runs beside CTranslate2's);
            # a model changed later loads without holding anything up
            return future if generation == 1 else None

        startup_job(load, name="verifier")

    def _from_loader(self, generation: int, show, *args) -> None:
        """On the Qt thread: show what the model loader said, unless the window is gone or
        the settings have since replaced that model."""
        if self._closed or not isValid(self) or generation != self._model_generation:
            return
        show(*args)

    def _start_engine(self) -> None:
        """With the local provider, start the engine in the background now so the first
        request does not wait for voices to load (nor import onnxruntime on its way)."""
        if self.pipeline is None:
            try:
                self.services.start_engine_in_background()
            except Exception:   # the first request tries again and says why
                log.warning("could not start the local engine early", exc_info=True)

    def _show_model_progress(self, done_kb: int, total_kb: int) -> None:
        # all of it fetched or assembled: what is left is loading it (the bar goes when loaded)
        whole = done_kb >= total_kb
        self.model_bar.setFormat(MODEL_LOADING if whole else MODEL_PROGRESS)
        self.model_bar.show()
        self.model_bar.setRange(0, max(1, total_kb))
        self.model_bar.setValue(min(done_kb, total_kb))

    def _model_loaded(self, result: str) -> None:
        self.model_bar.hide()
        if result == "ok":
            self.verifier_label.setText("Verifier: ready")
            if self.error_cause == "verifier":
                self.clear_error()
            if self._model_generation > 1:
                self.show_status(f"The new verifier model is ready: {self.settings.verifier_model}", 8000)
        else:
            self.verifier_label.setText("Verifier: unavailable")
            self.show_error("The verifier's speech model could not be loaded, so mismatches will not be "
                            f"flagged: {result.removeprefix('error:')}", cause="verifier")

    def reload_verifier(self) -> None:
        """The verifier model setting changed: load the new one now, in the background."""
        try:
            self.services.replace_verifier()
        except Exception as exc:
            self._model_generation += 1
            self._model_loaded(f"error:{exc}")
            return
        self.show_status(f"Verifier model changed — loading {self.settings.verifier_model}…", 8000)
        self.warm_verifier()
