"""Orchestration of one translation (request, playback, verification, history, repair); no Qt."""

from app.pipeline.translate import InputError, Listener, Pipeline, PipelineOptions, check_input

__all__ = ["InputError", "Listener", "Pipeline", "PipelineOptions", "check_input"]
