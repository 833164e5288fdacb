"""Offline speech synthesis (no Qt): espeak-ng for every language, Piper for English.

Used by the local engine (its "model" voice), by Repair (re-voicing the exact
transcript offline) and by the tests and benchmark (speech with known word times).
"""

from app.tts.base import Synthesis, TTSError, WordMark
from app.tts.voices import VOICES, Voice, available, synthesize

__all__ = ["Synthesis", "TTSError", "WordMark", "VOICES", "Voice", "available", "synthesize"]
