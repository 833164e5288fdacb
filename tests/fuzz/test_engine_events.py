"""Fuzzing the local engine's client events (issue 24): whatever a client sends, the engine
answers with events the openai SDK accepts — a documented `error` for what it refuses —
logs no traceback, never answers `server_error`, and the session still works afterwards.

Seeded with the probes' payloads (100k-deep JSON, binary frames, oversized fields); the rest
are the documented client events with one value changed, dropped or added, and arbitrary
JSON. Budget: see tests/fuzz/common.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st

from app.engine import LocalEngine
from app.engine.session import KNOWN
from tests.fuzz.common import BUDGET, PROBE_PAYLOADS, LoopThread, Tracebacks, json_values, mutations, seeded
from tests.realtime.helpers import validate_event

TEXT = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi."}]}
TEMPLATES = [
    {"type": "session.update", "session": {"type": "realtime", "instructions": "Translate.",
                                           "output_modalities": ["audio"],
                                           "audio": {"output": {"voice": "verse",
                                                                "format": {"type": "audio/pcm", "rate": 24000}}}}},
    {"type": "conversation.item.create", "event_id": "e1", "item": dict(TEXT, id="item_a")},
    {"type": "conversation.item.delete", "item_id": "item_a"},
    {"type": "conversation.item.retrieve", "item_id": "item_a"},
    {"type": "conversation.item.truncate", "item_id": "item_a", "content_index": 0, "audio_end_ms": 10},
    {"type": "response.create", "response": {"conversation": "none", "output_modalities": ["text"],
                                             "input": [TEXT], "metadata": {"verbatim_fault": "{}"}}},
    {"type": "response.cancel", "response_id": "resp_x"},
]

events = st.one_of(
    st.sampled_from(TEMPLATES).flatmap(mutations),
    st.fixed_dictionaries({"type": st.sampled_from(sorted(KNOWN))},
                          optional={"event_id": json_values, "session": json_values, "item": json_values,
                                    "response": json_values, "item_id": json_values}),
    st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    json_values,
).map(json.dumps) | st.text(max_size=200) | st.binary(max_size=200)


@pytest.fixture(scope="module")
def engine_loop():
    lt = LoopThread()
    engine = LocalEngine(default_voice="verse")
    lt.run(engine.start())
    yield lt, engine
    lt.run(engine.stop())
    lt.close()


async def one_case(engine, payload) -> list[str]:
    """Send `payload` on a fresh session; return the property violations seen."""
    problems = []
    async with websockets.connect(engine.url + "/realtime?model=gpt-realtime", max_size=2 ** 24,
                                  additional_headers={"Authorization": f"Bearer {engine.api_key}"}) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(payload)
        # liveness: a known item must be added after whatever the case did
        await ws.send(json.dumps({"type": "conversation.item.create", "item": dict(TEXT, id="item_alive")}))
        while True:
            try:
                ev = json.loads(await asyncio.wait_for(ws.recv(), 20))
            except websockets.ConnectionClosed as exc:
                return problems + [f"session closed: {exc.rcvd}"]
            except TimeoutError:
                return problems + ["no answer within 20 s"]
            try:
                validate_event(ev, "ga")
            except Exception as exc:     # noqa: BLE001 — any validation failure is the finding
                problems.append(f"{ev.get('type')} does not validate: {exc}"[:300])
            if ev.get("type") == "error" and ev["error"].get("code") == "server_error":
                problems.append(f"server_error: {ev['error'].get('message')}")
            if ev.get("type") == "conversation.item.added" and ev["item"].get("id") == "item_alive":
                return problems


@BUDGET
@given(payload=events)
@seeded("payload", PROBE_PAYLOADS)
def test_every_client_event_is_answered_and_the_session_lives_on(engine_loop, payload):
    lt, engine = engine_loop
    with Tracebacks("app.engine") as logged:
        problems = lt.run(one_case(engine, payload))
        problems += logged.take()
    assert not problems, (payload[:300] if isinstance(payload, (str, bytes)) else payload, problems)
