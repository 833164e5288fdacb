"""The one way from a worker thread to the UI.

qasync's event loop is Qt's, so `loop.call_soon_threadsafe` runs a function on the Qt
thread at the loop's next turn (qasync posts it through a queued Qt signal owned by the
loop, never by a widget that may be gone). Worker threads call `to_ui(fn, *args)`; the
function they hand over checks whether its window still exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class UiThread:
    """Bound to the Qt thread's loop; call it from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.get_event_loop_policy().get_event_loop()
        self.loop = loop

    def __call__(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:   # the loop is closed: the application is going away
            log.debug("dropped a call to the UI after its loop closed: %r", fn)


def ui_thread() -> UiThread:
    """Call on the Qt thread (where the qasync loop is set); hand the result to workers."""
    return UiThread()
