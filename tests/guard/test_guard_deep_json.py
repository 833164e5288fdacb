"""Probe of issue 24: JSON nested too deeply to read, from the app or from the service."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


# --- 6. JSON nested too deep to read ------------------------------------------------------------------------
@pytest.fixture
async def recorder():
    seen: dict = {"received": []}
    deep = "[" * 100_000 + "]" * 100_000

    async def handler(ws):
        await ws.send(json.dumps({"type": "session.created", "event_id": "e1", "session": {}}))
        async for msg in ws:
            seen["received"].append(msg)
            if msg == '{"type": "send-deep"}':
                await ws.send(deep)
                await ws.send(json.dumps({"type": "after-deep"}))

    server = await serve(handler, "127.0.0.1", 0, max_size=2 ** 24)
    seen["url"] = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    yield seen
    server.close()


@pytest.mark.parametrize("depth", [30_000, 100_000])
async def test_a_client_event_nested_too_deep_gets_invalid_json_and_the_session_goes_on(guards, recorder, depth):
    guard = await guards(recorder["url"])
    async with connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": "Bearer k"},
                       max_size=2 ** 24) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send("[" * depth + "]" * depth)
        err = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert err["type"] == "error"
        assert (err["error"]["type"], err["error"]["code"]) == ("invalid_request_error", "invalid_json")
        await ws.send('{"type": "still-here"}')
        async with asyncio.timeout(10):
            while '{"type": "still-here"}' not in recorder["received"]:
                await asyncio.sleep(0.02)
    assert all(len(m) < 1000 for m in recorder["received"])     # Guard did not pass it on


@pytest.mark.parametrize("mode", ["observe", "repair"])
async def test_an_upstream_event_nested_too_deep_is_forwarded_and_logged(guards, recorder, caplog, mode):
    guard = await guards(recorder["url"], mode=mode, speech=object())
    with caplog.at_level(logging.WARNING, logger="app.guard"):
        async with connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": "Bearer k"},
                           max_size=2 ** 24) as ws:
            await ws.recv()
            await ws.send('{"type": "send-deep"}')
            deep = await asyncio.wait_for(ws.recv(), 10)
            assert deep == "[" * 100_000 + "]" * 100_000
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "after-deep"
    assert "nested too deeply" in caplog.text
