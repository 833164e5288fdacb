"""Realtime sessions over the official openai SDK (no Qt).

Names are loaded on first use, so `app.realtime.events` (the pipeline matches on its
classes) comes without the client and its protocol code at window start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Collected, RealtimeClient, collect, translate_instructions, verbatim_instructions
    from .config import ProviderConfig
    from .errors import AuthError, ConnectionLost, RateLimitError, RealtimeError, RealtimeTimeout, ServerError
    from .events import AudioDelta, ErrorEvent, ResponseDone, SessionInfo, TranscriptDelta
    from .normalizer import Normalizer

_WHERE = {
    ".client": ("Collected", "RealtimeClient", "collect", "translate_instructions", "verbatim_instructions"),
    ".config": ("ProviderConfig",),
    ".errors": ("AuthError", "ConnectionLost", "RateLimitError", "RealtimeError", "RealtimeTimeout", "ServerError"),
    ".events": ("AudioDelta", "ErrorEvent", "ResponseDone", "SessionInfo", "TranscriptDelta"),
    ".normalizer": ("Normalizer",),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = ["AudioDelta", "AuthError", "Collected", "ConnectionLost", "ErrorEvent", "Normalizer",
           "ProviderConfig", "RateLimitError", "RealtimeClient", "RealtimeError",
           "RealtimeTimeout", "ResponseDone", "ServerError", "SessionInfo", "TranscriptDelta",
           "collect", "translate_instructions", "verbatim_instructions"]


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
