"""Failures nobody awaits (a fire-and-forget task, a loop callback) end in asyncio's
exception handler, which by default only writes to the log. Here they are logged with
their traceback (redacted) and handed to whoever registered to show them: the window."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from app.diagnostics.logs import redact

log = logging.getLogger("verbatim.tasks")
_listeners: list[Callable[[str], None]] = []


def add_listener(show: Callable[[str], None]) -> Callable[[], None]:
    """`show(message)` is called on the loop for every unhandled failure; returns a remover."""
    _listeners.append(show)
    return lambda: _listeners.remove(show) if show in _listeners else None


def install(loop: asyncio.AbstractEventLoop) -> None:
    loop.set_exception_handler(handle)


def user_message(context: dict[str, Any]) -> str:
    exc = context.get("exception")
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(f"A background task failed ({detail}). Your history is safe; details are in the log.")


def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    source = context.get("task") or context.get("future") or context.get("handle")
    name = source.get_name() if hasattr(source, "get_name") else type(source).__name__ if source else ""
    message = str(context.get("message") or "unhandled error")
    if not isinstance(exc, BaseException):
        log.warning("%s%s", message, f" ({name})" if name else "")   # e.g. a task destroyed while pending
        return
    log.error("%s%s", message, f" ({name})" if name else "", exc_info=(type(exc), exc, exc.__traceback__))
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, SystemExit)):
        return
    text = user_message(context)
    for show in list(_listeners):
        # later, on the loop: this may run inside a garbage-collected task's finalizer
        try:
            loop.call_soon_threadsafe(_call, show, text)
        except RuntimeError:       # the loop is closed: the log has it
            pass


def _call(show: Callable[[str], None], text: str) -> None:
    try:
        show(text)
    except Exception:
        log.exception("showing a background failure failed")
