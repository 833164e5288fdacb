"""Bounded inputs and a session that survives any client event (DESIGN.md: "a bad client event
gets an `error` event, never a dropped connection")."""

import asyncio
import json

import numpy as np
import pytest
import websockets

from app.engine import LocalEngine
from app.engine import session as session_mod
from app.engine.speech import SpeechCache

from .helpers import validate_event

META = {"verbatim_source": "en", "verbatim_target": "en"}


async def open_session(engine, flavor="ga"):
    headers = {"Authorization": f"Bearer {engine.api_key}"}
    if flavor == "beta":
        headers["OpenAI-Beta"] = "realtime=v1"
    ws = await websockets.connect(engine.url + "/realtime?model=gpt-realtime", additional_headers=headers)
    assert json.loads(await ws.recv())["type"] == "session.created"
    return ws


async def next_event(ws, flavor="ga"):
    ev = json.loads(await asyncio.wait_for(ws.recv(), 10))
    validate_event(ev, flavor)
    return ev


async def until(ws, types, flavor="ga"):
    """Events up to and including the first whose type is in `types`."""
    seen = []
    while True:
        ev = await next_event(ws, flavor)
        seen.append(ev)
        if ev["type"] in types:
            return seen


def message(text, role="user"):
    return {"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]}


def respond(**params):
    return {"type": "response.create", "response": {"conversation": "none", "output_modalities": ["text"],
                                                    "metadata": dict(META), **params}}


async def answers_a_valid_request(ws, flavor="ga"):
    await ws.send(json.dumps(respond(input=[message("Still here.")], output_modalities=["audio"])))
    seen = await until(ws, {"response.done", "error"}, flavor)
    assert seen[-1]["type"] == "response.done", seen[-1]
    assert seen[-1]["response"]["status"] == "completed"


LONG = "x" * 100_000
MALFORMED = [
    # each of these closed the connection with 1011 before
    ("unhashable item_id (delete)", {"type": "conversation.item.delete", "item_id": [1]}, "item_id"),
    ("unhashable item_id (retrieve)", {"type": "conversation.item.retrieve", "item_id": {"a": 1}}, "item_id"),
    ("unhashable item_reference id", respond(input=[{"type": "item_reference", "id": [1]}]), "response.input[0].id"),
    ("non-object audio.output (session)", {"type": "session.update", "session": {"audio": {"output": [1]}}},
     "session.audio.output"),
    ("non-object audio (session)", {"type": "session.update", "session": {"audio": "loud"}}, "session.audio"),
    ("non-object audio.output (response)", respond(input=[message("Hi.")], audio={"output": "fast"}),
     "response.audio.output"),
    ("modalities [[1]] (session)", {"type": "session.update", "session": {"modalities": [[1]]}},
     "session.modalities"),
    ("modalities [[1]] (response)", respond(input=[message("Hi.")], modalities=[[1]]), "response.modalities"),
    ("output_modalities [{}] (response)", respond(input=[message("Hi.")], output_modalities=[{}]),
     "response.modalities"),
    ("non-string inline text (number)", respond(input=[{"type": "message", "role": "user",
                                                        "content": [{"type": "input_text", "text": 5}]}]),
     "response.input[0].content[0].text"),
    ("non-string inline text (list)", respond(input=[{"type": "message", "role": "user",
                                                      "content": [{"type": "input_text", "text": ["a"]}]}]),
     "response.input[0].content[0].text"),
    ("inline content not a list", respond(input=[{"type": "message", "role": "user", "content": "Hi."}]),
     "response.input[0].content"),
    ("inline content part not an object", respond(input=[{"type": "message", "role": "user", "content": [7]}]),
     "response.input[0].content[0].type"),
    ("unhashable inline role", respond(input=[{**message("Hi."), "role": [1]}]), "response.input[0].role"),
    ("unhashable format type (session)",
     {"type": "session.update", "session": {"audio": {"output": {"format": {"type": [1]}}}}},
     "session.audio.output.format"),
    ("unhashable format type (response)", respond(input=[message("Hi.")], audio={"output": {"format": {"type": {}}}}),
     "response.audio.output.format"),
    ("non-string voice", {"type": "session.update", "session": {"voice": ["alloy"]}}, "session.voice"),
    ("huge voice", respond(input=[message("Hi.")], voice="v" * 5000), "response.voice"),
    ("non-string instructions", {"type": "session.update", "session": {"instructions": 5}}, "session.instructions"),
    ("unhashable conversation", respond(conversation=[1]), "response.conversation"),
    ("input not a list", respond(input={"type": "message"}), "response.input"),
    ("too many inline items", respond(input=[message("Hi.")] * 1000), "response.input"),
    ("unhashable cancel id", {"type": "response.cancel", "response_id": [1]}, None),
    ("unhashable event type", {"type": "conversation.item.create", "item": [1]}, "item"),
    ("list event_id", {"type": "response.explode", "event_id": [1]}, "type"),
    # over MAX_TEXT anywhere the server reads text
    ("100 000 characters inline", respond(input=[message(LONG)]), "response.input[0].content"),
    ("two inline parts over the limit together",
     respond(input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x" * 15_000},
                                                                    {"type": "input_text", "text": "x" * 15_000}]}]),
     "response.input[0].content"),
    ("long session instructions", {"type": "session.update", "session": {"instructions": LONG}},
     "session.instructions"),
    ("long response instructions", respond(input=[message("Hi.")], instructions=LONG), "response.instructions"),
    ("long item", {"type": "conversation.item.create", "item": message(LONG)}, "item.content"),
]


@pytest.mark.parametrize("flavor", ["ga", "beta"])
async def test_a_table_of_malformed_events_each_gets_an_error_and_the_session_lives_on(engine, flavor):
    ws = await open_session(engine, flavor)
    for name, event, param in MALFORMED:
        await ws.send(json.dumps(event))
        ev = await next_event(ws, flavor)
        assert ev["type"] == "error", (name, ev)
        assert ev["error"]["code"] != "server_error", (name, ev)   # each is named, not caught by the net
        if param is not None:
            assert ev["error"]["param"] == param, (name, ev)
        assert len(ev["error"]["message"]) < 500, name            # client junk is not echoed at length
        await ws.send(json.dumps({"type": "session.update", "session": {}}))
        assert (await next_event(ws, flavor))["type"] == "session.updated", name
    await answers_a_valid_request(ws, flavor)
    await ws.close()


JUNK = [None, [[1]], {"a": [1]}, [1], 1e308, -1, True, "", "x" * 30_000, {"type": [1]}]


def _mutations(event):
    """The event with each value (at any depth) replaced by each junk value."""
    def paths(obj, prefix=()):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield prefix + (k,)
                yield from paths(v, prefix + (k,))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                yield prefix + (i,)
                yield from paths(v, prefix + (i,))

    for path in paths(event):
        if path == ("type",):
            continue
        for junk in JUNK:
            ev = json.loads(json.dumps(event))
            target = ev
            for p in path[:-1]:
                target = target[p]
            target[path[-1]] = junk
            yield path, ev


async def test_junk_in_every_field_of_valid_events_never_drops_the_session(engine):
    valid = [
        {"type": "session.update", "session": {"type": "realtime", "instructions": "Read it.", "output_modalities":
                                               ["audio"], "audio": {"output": {"voice": "verse",
                                                                               "format": {"type": "audio/pcm"}}}}},
        {"type": "conversation.item.create", "item": {"id": "item_fuzz", **message("Hi.")}},
        respond(input=[message("Hi."), {"type": "item_reference", "id": "item_fuzz"}], instructions="Read it.",
                audio={"output": {"voice": "verse", "format": {"type": "audio/pcmu"}}}),
    ]
    ws = await open_session(engine)
    tried = 0
    for base in valid:
        for path, ev in _mutations(base):
            await ws.send(json.dumps(ev))
            seen = await until(ws, {"error", "session.updated", "conversation.item.done", "response.done"})
            assert seen[-1]["type"] != "error" or seen[-1]["error"]["code"] != "server_error", (path, seen[-1])
            if seen[-1]["type"] == "conversation.item.done":   # accepted: remove it so the next may reuse the id
                await ws.send(json.dumps({"type": "conversation.item.delete",
                                          "item_id": seen[-1]["item"]["id"]}))
                assert (await next_event(ws))["type"] == "conversation.item.deleted"
            tried += 1
    assert tried > 200
    await answers_a_valid_request(ws)
    await ws.close()


async def test_one_active_response_per_session_like_the_real_api(engine):
    ws = await open_session(engine)
    slow = respond(input=[message("One. Two. Three.")], output_modalities=["audio"],
                   metadata={**META, "verbatim_fault": json.dumps({"delay_ms": 100, "late_deltas": 2})})
    await ws.send(json.dumps(slow))
    first = await until(ws, {"response.created"})
    rid = first[-1]["response"]["id"]
    await ws.send(json.dumps(respond(input=[message("Hi.")])))
    seen = await until(ws, {"error"})
    err = seen[-1]["error"]
    assert err["code"] == "conversation_already_has_active_response"
    assert rid in err["message"]
    done = await until(ws, {"response.done"})
    assert done[-1]["response"]["id"] == rid and done[-1]["response"]["status"] == "completed"
    # after response.done the response is over, even while its late deltas still arrive
    (session,) = engine.sessions
    assert rid in session.tasks and session.active is None
    await ws.send(json.dumps(respond(input=[message("Hi.")])))
    seen = await until(ws, {"response.done", "error"})
    assert seen[-1]["type"] == "response.done" and seen[-1]["response"]["id"] != rid, seen[-1]
    await ws.close()


async def test_responses_per_session_are_bounded(engine, monkeypatch):
    monkeypatch.setattr(session_mod, "MAX_RESPONSES", 2)
    ws = await open_session(engine)
    for _ in range(2):
        await ws.send(json.dumps(respond(input=[message("Hi.")])))
        assert (await until(ws, {"response.done", "error"}))[-1]["type"] == "response.done"
    await ws.send(json.dumps(respond(input=[message("Hi.")])))
    ev = (await until(ws, {"response.done", "error"}))[-1]
    assert ev["type"] == "error" and ev["error"]["code"] == "session_response_limit_reached"
    await ws.close()


async def test_conversation_items_are_bounded_oldest_forgotten(engine, monkeypatch):
    monkeypatch.setattr(session_mod, "MAX_ITEMS", 3)
    ws = await open_session(engine)
    for i in range(5):
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {"id": f"item_{i}", **message("Hi.")}}))
        await until(ws, {"conversation.item.done"})
    (session,) = engine.sessions
    assert session.order == ["item_2", "item_3", "item_4"] and len(session.items) == 3
    await ws.send(json.dumps({"type": "conversation.item.retrieve", "item_id": "item_0"}))
    assert (await next_event(ws))["error"]["code"] == "item_not_found"
    await ws.send(json.dumps({"type": "conversation.item.retrieve", "item_id": "item_4"}))
    assert (await next_event(ws))["type"] == "conversation.item.retrieved"
    await ws.close()


async def test_sessions_per_server_are_bounded():
    async with LocalEngine(default_voice="verse", max_sessions=2) as eng:
        headers = {"Authorization": f"Bearer {eng.api_key}"}
        url = eng.url + "/realtime?model=gpt-realtime"

        async def first_event(ws):
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 5))
            except websockets.ConnectionClosed:
                return None

        # at once: handshakes race past the HTTP check; the handler still admits only two
        many = await asyncio.gather(*[websockets.connect(url, additional_headers=headers) for _ in range(5)],
                                    return_exceptions=True)
        opened = [ws for ws in many if not isinstance(ws, BaseException)]
        firsts = await asyncio.gather(*[first_event(ws) for ws in opened])
        assert sum(1 for e in firsts if e and e["type"] == "session.created") == 2
        for e in firsts:
            if e and e["type"] == "error":
                validate_event(e, "ga")
                assert e["error"]["code"] == "too_many_sessions"
        for ws in opened:
            await ws.close()
        await asyncio.sleep(0.2)
        # one after another: the third is refused at the handshake with 429
        a = await websockets.connect(url, additional_headers=headers)
        b = await websockets.connect(url, additional_headers=headers)
        await a.recv(), await b.recv()
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 429
        await a.close()
        await asyncio.sleep(0.2)
        c = await websockets.connect(url, additional_headers=headers)
        assert json.loads(await c.recv())["type"] == "session.created"
        await b.close(), await c.close()


def test_the_speech_cache_is_bounded_by_bytes():
    cache = SpeechCache(max_bytes=10_000)
    block = np.zeros(1_000, np.int16)            # 2 000 bytes each
    for i in range(20):
        cache.put((f"t{i}", "en", "v"), (block.copy(), "espeak:v"))
        assert cache.bytes <= 10_000
    assert len(cache) == 5 and cache.get(("t0", "en", "v")) is None and cache.get(("t19", "en", "v")) is not None
    cache.get(("t15", "en", "v"))                # used: kept over older ones
    cache.put(("new", "en", "v"), (block.copy(), "espeak:v"))
    assert cache.get(("t15", "en", "v")) is not None and cache.get(("t16", "en", "v")) is None
    cache.put(("huge", "en", "v"), (np.zeros(6_000, np.int16), "espeak:v"))   # bigger than the whole budget
    assert cache.get(("huge", "en", "v")) is None and cache.bytes <= 10_000


def test_the_engine_speech_cache_counts_bytes():
    from app.engine import speech
    from app.engine.faults import Chunk

    assert speech.cache.max_bytes <= 256 << 20
    before = speech.cache.bytes
    pcm, _ = speech.render(Chunk("Bytes are counted.", "en", None), "verse", 0)
    assert speech.cache.bytes >= before + pcm.nbytes or speech.cache.get(("Bytes are counted.", "en", "verse", 1.0))


def test_the_speech_cache_keeps_each_speed_apart():
    from app.engine import speech
    from app.engine.faults import Chunk

    slow, _ = speech.render(Chunk("Speed is part of the key.", "en", None), "verse", 0, 1.0)
    fast, _ = speech.render(Chunk("Speed is part of the key.", "en", None), "verse", 0, 1.5)
    assert len(fast) < len(slow) * 0.8
