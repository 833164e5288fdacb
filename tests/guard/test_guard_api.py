"""The Qt-free API a window uses: start/stop on its own thread, the URL, a listener."""

from __future__ import annotations

import asyncio
import threading

from app.guard import Guard, GuardListener

from .apps import run_app


class Recorder(GuardListener):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.threads: set[str] = set()

    def _note(self, what, obj):
        self.calls.append((what, obj))
        self.threads.add(threading.current_thread().name)

    def on_session_opened(self, s):
        self._note("opened", s)

    def on_session_closed(self, s):
        self._note("closed", s)

    def on_response(self, r):
        self._note("response", r)


async def test_guard_on_its_own_thread_reports_sessions_and_verdicts(engine, worker):
    listener = Recorder()
    guard = Guard(engine.url, mode="repair", verifier=worker, listener=listener)
    await asyncio.to_thread(guard.start_in_thread)
    try:
        assert guard.url == f"ws://127.0.0.1:{guard.port}/v1"
        await run_app(guard.url, fault={"case": "truncated-2"}, voice="alloy")
        async with asyncio.timeout(60):
            while [c[0] for c in listener.calls] != ["opened", "response", "closed"] and \
                    [c[0] for c in listener.calls] != ["opened", "closed", "response"]:
                await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(guard.stop_thread)
    response = next(obj for what, obj in listener.calls if what == "response")
    assert response.status == "repaired" and response.appended_text == "I didn't know that existed."
    assert [s.status for s in response.report.segments] == ["ok", "ok", "truncated"]
    assert listener.threads == {"verbatim-guard"}     # never the caller's thread
    summary = response.summary()
    assert summary["status"] == "repaired" and summary["flagged"][0]["index"] == 2
