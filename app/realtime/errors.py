"""Typed failures of a Realtime session. Each carries a sentence fit for the window and,
when a response was under way, what had arrived so far (nothing already received is lost)."""

from __future__ import annotations

import numpy as np


class RealtimeError(Exception):
    """Base class; `str(exc)` is the user-facing message."""

    retryable = False

    def __init__(self, message: str, *, code: str | None = None,
                 partial_transcript: str = "", partial_audio: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.partial_transcript = partial_transcript
        self.partial_audio = partial_audio


class AuthError(RealtimeError):
    """The key or endpoint was refused (401/403 or an auth error event)."""


class RateLimitError(RealtimeError):
    retryable = True


class ServerError(RealtimeError):
    """An `error` event from the server, e.g. an invalid request."""


class ConnectionLost(RealtimeError):
    """The socket dropped, during connect or in the middle of a response."""

    retryable = True


class RealtimeTimeout(RealtimeError):
    retryable = True
