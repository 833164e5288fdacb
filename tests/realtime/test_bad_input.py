"""Malformed client events get proper `error` events; bad keys and bad servers get typed errors."""

import asyncio
import json

import pytest
import websockets

from app.engine import LocalEngine
from app.realtime import AuthError, ConnectionLost, ProviderConfig, RealtimeClient

from .helpers import validate_event


async def raw_session(engine):
    ws = await websockets.connect(engine.url + "/realtime?model=gpt-realtime",
                                  additional_headers={"Authorization": f"Bearer {engine.api_key}"})
    created = json.loads(await ws.recv())
    assert created["type"] == "session.created"
    return ws


async def expect_error(ws, message, code, param=None):
    await ws.send(message if isinstance(message, str) else json.dumps(message))
    ev = json.loads(await asyncio.wait_for(ws.recv(), 5))
    validate_event(ev, "ga")
    assert ev["type"] == "error", ev
    assert ev["error"]["code"] == code, ev
    if param is not None:
        assert ev["error"]["param"] == param
    return ev


@pytest.mark.parametrize("message,code,param", [
    ("{not json", "invalid_json", None),
    ("[1, 2]", "invalid_event", "type"),
    ({"type": "response.explode"}, "invalid_value", "type"),
    ({"type": "input_audio_buffer.append", "audio": ""}, "unsupported_event", "type"),
    ({"type": "conversation.item.create"}, "missing_required_parameter", "item"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "robot",
                                                   "content": [{"type": "input_text", "text": "x"}]}},
     "invalid_value", "item.role"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                   "content": [{"type": "input_text", "text": "x" * 20001}]}},
     "string_above_max_length", "item.content"),
    ({"type": "conversation.item.delete", "item_id": "nope"}, "item_not_found", "item_id"),
    ({"type": "response.create", "response": {"conversation": "none",
                                              "input": [{"type": "item_reference", "id": "missing"}]}},
     "item_not_found", "response.input[0].id"),
    ({"type": "response.create", "response": {"conversation": "elsewhere"}}, "invalid_value",
     "response.conversation"),
    ({"type": "response.create", "response": {"metadata": {"verbatim_fault": "{bad"}}}, "invalid_value",
     "response.metadata.verbatim_fault"),
    ({"type": "response.create", "response": {"metadata": {"verbatim_fault": '{"truncate_after": -1}'}}},
     "invalid_value", "response.metadata.verbatim_fault"),
    ({"type": "response.cancel"}, "response_cancel_not_active", None),
    ({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"format": {"type": "audio/mp3"}}}}},
     "invalid_value", "session.audio.output.format"),
])
async def test_malformed_client_events_get_error_events_and_the_session_lives_on(engine, message, code, param):
    ws = await raw_session(engine)
    await expect_error(ws, message, code, param)
    # still usable afterwards
    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "id": "item_ok", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi."}]}}))
    ev = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ev["type"] == "conversation.item.added"
    await ws.close()


async def test_the_engine_refuses_a_wrong_key_and_accepts_the_right_one():
    # attempts are counted in test_client_endpoints (test_a_refused_key_is_an_auth_error_without_retries)
    async with LocalEngine(api_keys={"right-key"}, default_voice="verse") as eng:
        client = RealtimeClient(ProviderConfig(provider="openai", api_key="wrong-key", websocket_base_url=eng.url),
                                backoff_s=0.01)
        with pytest.raises(AuthError) as err:
            await client.connect()
        assert "refused the API key" in str(err.value)
        assert "wrong-key" not in str(err.value)
        ok = RealtimeClient(ProviderConfig(provider="openai", api_key="right-key", websocket_base_url=eng.url))
        assert (await ok.connect()).engine == "verbatim-local"
        await ok.close()


async def test_missing_key_is_refused_before_connecting():
    with pytest.raises(AuthError):
        await RealtimeClient(ProviderConfig(provider="openai", api_key=None)).connect()


async def test_nobody_listening_is_a_connection_error_after_backoff():
    client = RealtimeClient(ProviderConfig(provider="local", websocket_base_url="ws://127.0.0.1:9/v1"),
                            connect_attempts=2, backoff_s=0.01)
    with pytest.raises(ConnectionLost) as err:
        await client.connect()
    assert "Could not reach the local engine" in str(err.value)


async def test_garbage_from_the_server_is_skipped_and_the_answer_still_arrives():
    """A server that interleaves malformed frames with a valid answer (GA names)."""

    async def handler(ws):
        await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": {"type": "realtime"}}))
        async for msg in ws:
            ev = json.loads(msg)
            if ev["type"] == "session.update":
                await ws.send(json.dumps({"type": "session.updated", "event_id": "e1", "session": {"type": "realtime"}}))
            if ev["type"] == "response.create":
                tag = ev["response"]["metadata"]["verbatim_request"]
                rid = "resp_1"
                base = {"response_id": rid, "item_id": "it", "output_index": 0, "content_index": 0}
                await ws.send(json.dumps({"type": "response.created", "event_id": "e2",
                                          "response": {"id": rid, "metadata": {"verbatim_request": tag}}}))
                await ws.send("this is not json")
                await ws.send(json.dumps(["no", "type"]))
                await ws.send(json.dumps({"type": "response.output_audio_transcript.delta", **base,
                                          "delta": "Hello <|endof"}))
                await ws.send(json.dumps({"type": "response.output_audio_transcript.delta", **base,
                                          "delta": "text|> world."}))
                await ws.send(json.dumps({"type": "response.output_audio.delta", **base, "delta": "%%%"}))
                await ws.send(json.dumps({"type": "response.output_audio.delta", **base,
                                          "delta": "AAABAAIA"}))   # 3 samples
                await ws.send(json.dumps({"type": "response.done", "event_id": "e3",
                                          "response": {"id": rid, "status": "completed"}}))

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = RealtimeClient(ProviderConfig(provider="local", websocket_base_url=f"ws://127.0.0.1:{port}/v1"),
                                trailing_quiet_s=0.05)
        got = await client.translate_collect("Hola mundo.", source="es", target="en")
        await client.close()
    assert got.transcript == "Hello world."
    assert list(got.audio) == [0, 1, 2]
    assert client.malformed_events == 2


async def test_json_nested_too_deep_is_invalid_json_and_the_session_still_answers(engine):
    # the probe: 100 k levels of nesting overflowed the parser (RecursionError, close 1011)
    ws = await raw_session(engine)
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        await expect_error(ws, deep, "invalid_json")
    await ws.send(json.dumps({"type": "response.create", "response": {"conversation": "none", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi."}]}]}}))
    while (ev := json.loads(await asyncio.wait_for(ws.recv(), 30)))["type"] != "response.done":
        assert ev["type"] != "error", ev
    assert ev["response"]["status"] == "completed"
    await ws.close()
