"""A local server's own event loop on its own thread, and a foreground wait for Ctrl+C.

The window's (qasync) loop must never wait on synthesis or verification, so the embedded
engine and Guard each run on a private loop; `python -m app serve|guard` run in the
foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def start(self, start: Callable[[], Awaitable], stop: Callable[[], Awaitable], timeout: float = 30) -> None:
        """Run `start()` on a new loop in a new thread; returns once it has, raising what it raised.
        `stop()` runs on that loop when `stop` (this object's) is called."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(start())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(stop())
            loop.close()

        self.thread = threading.Thread(target=main, name=self.name, daemon=True)
        self.thread.start()
        ready.wait(timeout)
        if errors:
            raise errors[0]

    def stop(self, timeout: float = 10) -> None:
        if self.loop is not None and self.thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
            self.thread = None
            self.loop = None


async def wait_for_stop_signal() -> None:
    """Until SIGINT or SIGTERM (where the platform lets us listen for them)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await stop.wait()
