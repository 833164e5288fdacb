"""Realtime sessions over the official openai SDK (no Qt)."""

from .client import Collected, RealtimeClient, collect, translate_instructions, verbatim_instructions
from .config import ProviderConfig
from .errors import AuthError, ConnectionLost, RateLimitError, RealtimeError, RealtimeTimeout, ServerError
from .events import AudioDelta, ErrorEvent, ResponseDone, SessionInfo, TranscriptDelta
from .normalizer import Normalizer

__all__ = ["AudioDelta", "AuthError", "Collected", "ConnectionLost", "ErrorEvent", "Normalizer",
           "ProviderConfig", "RateLimitError", "RealtimeClient", "RealtimeError",
           "RealtimeTimeout", "ResponseDone", "ServerError", "SessionInfo", "TranscriptDelta",
           "collect", "translate_instructions", "verbatim_instructions"]
