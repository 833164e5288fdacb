"""Repair: make the delivered audio say exactly the transcript (no Qt)."""

from app.repair.repairer import LABEL, STRATEGIES, Repairer, RepairOptions
from app.repair.speech import CloudSpeech, LocalSpeech, Speech, SpeechError, cloud_speech_for

__all__ = ["LABEL", "STRATEGIES", "RepairOptions", "Repairer", "CloudSpeech", "LocalSpeech", "Speech",
           "SpeechError", "cloud_speech_for"]
