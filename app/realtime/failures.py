"""How the Realtime client words a failure: an error event, a refused handshake or a closed
socket as a typed RealtimeError with a sentence for the window."""

from __future__ import annotations

from typing import Any

from .errors import AuthError, ConnectionLost, RateLimitError, RealtimeError, ServerError
from .events import ErrorEvent

AUTH_CODES = {"invalid_api_key", "authentication_error", "unauthorized", "invalid_authentication", "401"}
RATE_CODES = {"rate_limit_exceeded", "rate_limit_error", "insufficient_quota", "429"}


def error_from_event(err: ErrorEvent, label: str) -> RealtimeError:
    code = (err.code or "").lower()
    kind = (err.type or "").lower()
    if code in AUTH_CODES or kind in AUTH_CODES:
        return AuthError(f"{label} refused the API key: {err.message}", code=err.code)
    if code in RATE_CODES or kind in RATE_CODES:
        return RateLimitError(f"{label} is rate limiting this key: {err.message}", code=err.code)
    return ServerError(f"{label} reported an error: {err.message}", code=err.code)


def status_error(status: int, label: str) -> RealtimeError:
    if status in (401, 403):
        return AuthError(f"{label} refused the API key (HTTP {status}). Check the key in Settings.",
                         code=str(status))
    if status == 404:
        return ServerError(f"{label} has no Realtime endpoint there (HTTP 404): check the endpoint, "
                           f"model or deployment name.", code="404")
    if status == 429:
        return RateLimitError(f"{label} is rate limiting this key (HTTP 429). Try again in a moment.",
                              code="429")
    return ConnectionLost(f"{label} refused the connection (HTTP {status}).", code=str(status))


def close_reason(exc: BaseException | None) -> str:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None and getattr(rcvd, "reason", ""):
        return f" ({rcvd.reason})"
    if rcvd is None and exc is not None and getattr(exc, "rcvd", "x") is None:
        return " (no close frame)"
    return ""


def status_reason(details: Any) -> str:
    if isinstance(details, dict):
        err = details.get("error") or {}
        return str(err.get("message") or details.get("reason") or details.get("type") or "failed")
    return "failed"


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def short(what: BaseException | str) -> str:
    """At most 160 characters of an error (or of a text), for one-line messages."""
    text = what if isinstance(what, str) else (str(what) or type(what).__name__)
    return text if len(text) < 160 else text[:157] + "…"
