"""Fuzzing Guard from both sides (issue 24): whatever an app sends, and whatever the upstream
service sends, Guard logs no traceback, never drops the app's connection, and an ordinary
event still passes through afterwards.

The upstream is a scripted Realtime service on 127.0.0.1: it answers the app's liveness item
with `conversation.item.added`, and plays back the fuzzed upstream events when asked.
Budget: see tests/fuzz/common.py.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st

from app.guard import Guard
from tests.fuzz.common import BUDGET, PROBE_PAYLOADS, LoopThread, Tracebacks, json_values, mutations, seeded

ALIVE = {"type": "conversation.item.create",
         "item": {"id": "item_alive", "type": "message", "role": "user",
                  "content": [{"type": "input_text", "text": "Hi."}]}}
PLAY = "x_fuzz.play"        # the app asks the scripted upstream to send the fuzzed events


class Upstream:
    def __init__(self) -> None:
        self.script: list[str | bytes] = []

    async def handler(self, ws) -> None:
        await ws.send(json.dumps({"type": "session.created", "event_id": "e0",
                                  "session": {"type": "realtime", "id": "sess_1"}}))
        async for msg in ws:
            try:
                ev = json.loads(msg)
            except (ValueError, RecursionError, UnicodeDecodeError):
                continue
            if not isinstance(ev, dict):
                continue
            if ev.get("type") == PLAY:
                for out in self.script:
                    await ws.send(out)
            item = ev.get("item")
            if ev.get("type") == "conversation.item.create" and isinstance(item, dict) and item.get("id") == "item_alive":
                await ws.send(json.dumps({"type": "conversation.item.added", "event_id": "e_alive",
                                          "previous_item_id": None, "item": item}))


BASE = {"response_id": "resp_1", "item_id": "item_1", "output_index": 0, "content_index": 0}
UPSTREAM_TEMPLATES = [
    {"type": "response.created", "event_id": "u1", "response": {"id": "resp_1", "status": "in_progress", "output": []}},
    {"type": "response.output_audio.delta", "event_id": "u2", **BASE,
     "delta": base64.b64encode(b"\x01\x00" * 2400).decode()},
    {"type": "response.output_audio_transcript.delta", "event_id": "u3", **BASE, "delta": "Hello there."},
    {"type": "response.output_audio_transcript.done", "event_id": "u4", **BASE, "transcript": "Hello there."},
    {"type": "response.output_audio.done", "event_id": "u5", **BASE},
    {"type": "response.done", "event_id": "u6", "response": {"id": "resp_1", "status": "completed", "output": []}},
    {"type": "error", "event_id": "u7", "error": {"type": "invalid_request_error", "code": "x", "message": "m"}},
]
CLIENT_TEMPLATES = [
    {"type": "session.update", "session": {"type": "realtime", "instructions": "Translate."}},
    {"type": "response.create", "response": {"conversation": "none", "metadata": {"a": "b"},
                                             "input": [{"type": "message", "role": "user",
                                                        "content": [{"type": "input_text", "text": "Hi."}]}]}},
    {"type": "response.cancel"},
    dict(ALIVE, item=dict(ALIVE["item"], id="item_other")),
]

client_payloads = st.one_of(
    st.sampled_from(CLIENT_TEMPLATES).flatmap(mutations),
    st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    json_values,
).map(json.dumps) | st.text(max_size=200) | st.binary(max_size=200)

upstream_scripts = st.lists(st.one_of(
    st.sampled_from(UPSTREAM_TEMPLATES).flatmap(mutations).map(json.dumps),
    st.sampled_from(UPSTREAM_TEMPLATES).map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=100),
), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def guarded():
    lt = LoopThread()
    up = Upstream()

    async def start():
        server = await websockets.serve(up.handler, "127.0.0.1", 0, max_size=2 ** 24)
        port = next(iter(server.sockets)).getsockname()[1]
        guard = Guard(f"ws://127.0.0.1:{port}/v1", mode="observe", verify=False, history=None)
        await guard.start()
        return server, guard

    server, guard = lt.run(start())
    yield lt, up, guard
    lt.run(guard.stop())
    server.close()
    lt.run(server.wait_closed())
    lt.close()


async def case(guard, send: list) -> list[str]:
    """Open a session through Guard, send `send`, then the liveness item; the problems seen."""
    async with websockets.connect(f"{guard.url}/realtime?model=gpt-realtime", max_size=2 ** 24) as app:
        first = json.loads(await asyncio.wait_for(app.recv(), 10))
        if first.get("type") != "session.created":
            return [f"first event {first.get('type')}"]
        for msg in send:
            await app.send(msg)
        await app.send(json.dumps(ALIVE))
        while True:
            try:
                raw = await asyncio.wait_for(app.recv(), 20)
            except websockets.ConnectionClosed as exc:
                return [f"app dropped: {exc.rcvd}"]
            except TimeoutError:
                return ["the liveness item never came back"]
            try:
                ev = json.loads(raw)
            except (ValueError, RecursionError):
                continue           # Guard passes upstream bytes on unchanged; the app copes
            if isinstance(ev, dict) and ev.get("type") == "conversation.item.added" \
                    and isinstance(ev.get("item"), dict) and ev["item"].get("id") == "item_alive":
                return []


@BUDGET
@given(payload=client_payloads)
@seeded("payload", [PROBE_PAYLOADS[i] for i in (0, 1, 3, 4, 6)])
def test_whatever_the_app_sends_guard_keeps_the_session(guarded, payload):
    lt, up, guard = guarded
    up.script = []
    with Tracebacks("app.guard") as logged:
        problems = lt.run(case(guard, [payload]))
        problems += logged.take()
    assert not problems, (payload[:300], problems)


@BUDGET
@given(script=upstream_scripts)
@seeded("script", [[PROBE_PAYLOADS[0]], [PROBE_PAYLOADS[1]], [json.dumps(t) for t in UPSTREAM_TEMPLATES]])
def test_whatever_the_upstream_sends_guard_keeps_the_app_connected(guarded, script):
    lt, up, guard = guarded
    up.script = script
    with Tracebacks("app.guard") as logged:
        problems = lt.run(case(guard, [json.dumps({"type": PLAY})]))
        problems += logged.take()
    assert not problems, ([s[:200] for s in script], problems)
