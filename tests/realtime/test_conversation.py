"""The default conversation: user and assistant items kept, retrievable and truncatable as the
service does; several user items answered together; tool calls and their outputs."""

from __future__ import annotations

import base64
import json

import pytest

from .helpers import validate_all
from .test_limits import META, message, open_session, until


def create(item, **extra):
    return json.dumps({"type": "conversation.item.create", "item": item, **extra})


def auto_response(**params):
    return json.dumps({"type": "response.create", "response": {"metadata": dict(META), **params}})


def transcript_of(seen, flavor="ga"):
    kind = "response.output_audio_transcript.done" if flavor == "ga" else "response.audio_transcript.done"
    return [e for e in seen if e["type"] == kind][0]["transcript"]


@pytest.mark.parametrize("flavor", ["ga", "beta"])
async def test_several_user_items_are_answered_together_in_order(engine, flavor):
    ws = await open_session(engine, flavor)
    for text in ("First one.", "Second one.", "And a third"):
        await ws.send(create(message(text)))
    await ws.send(auto_response())
    seen = await until(ws, {"response.done", "error"}, flavor)
    assert seen[-1]["type"] == "response.done", seen[-1]
    assert transcript_of(seen, flavor) == "First one. Second one. And a third"
    # the answer joined the conversation: the next response answers only what came after it
    await ws.send(create(message("Fourth.")))
    await ws.send(auto_response())
    seen = await until(ws, {"response.done", "error"}, flavor)
    await ws.close()
    assert transcript_of(seen, flavor) == "Fourth."
    validate_all(engine.events, flavor)
    joined = "conversation.item.added" if flavor == "ga" else "conversation.item.created"
    answers = [e["item"] for e in engine.events if e["type"] == joined and e["item"]["role"] == "assistant"]
    assert len(answers) == 2


async def test_inline_input_with_several_messages_is_answered_whole(engine):
    ws = await open_session(engine)
    await ws.send(json.dumps({"type": "response.create", "response": {
        "conversation": "none", "metadata": dict(META), "input": [message("Alpha."), message("Beta.")]}}))
    seen = await until(ws, {"response.done", "error"})
    await ws.close()
    assert transcript_of(seen) == "Alpha. Beta."
    assert not [e for e in seen if e["type"] == "conversation.item.added"]   # out of band


async def answered(ws, text="Good morning. The meeting moved to ten thirty; bring the report."):
    await ws.send(create(message(text)))
    await ws.send(auto_response())
    seen = await until(ws, {"response.done", "error"})
    assert seen[-1]["type"] == "response.done", seen[-1]
    return seen[-1]["response"]


async def retrieve(ws, item_id):
    await ws.send(json.dumps({"type": "conversation.item.retrieve", "item_id": item_id}))
    return (await until(ws, {"conversation.item.retrieved", "error"}))[-1]


async def test_the_assistant_item_from_response_done_can_be_retrieved_with_its_audio(engine):
    ws = await open_session(engine)
    response = await answered(ws)
    item_id = response["output"][0]["id"]
    got = await retrieve(ws, item_id)
    await ws.close()
    assert got["type"] == "conversation.item.retrieved", got
    part = got["item"]["content"][0]
    assert got["item"]["role"] == "assistant" and got["item"]["status"] == "completed"
    assert part["transcript"] == "Good morning. The meeting moved to ten thirty; bring the report."
    samples = len(base64.b64decode(part["audio"])) // 2
    assert samples == engine.ground_truth(response["id"])["audio_samples"]


async def test_truncate_shortens_the_stored_audio_and_transcript(engine):
    ws = await open_session(engine)
    response = await answered(ws)
    item_id = response["output"][0]["id"]
    truth = engine.ground_truth(response["id"])
    first = truth["spoken"][0]       # "Good morning." then the rest
    end_ms = int(first["end_s"] * 1000) + 50
    await ws.send(json.dumps({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                              "audio_end_ms": end_ms}))
    ev = (await until(ws, {"conversation.item.truncated", "error"}))[-1]
    assert ev == {"type": "conversation.item.truncated", "event_id": ev["event_id"], "item_id": item_id,
                  "content_index": 0, "audio_end_ms": end_ms}
    got = await retrieve(ws, item_id)
    part = got["item"]["content"][0]
    assert len(base64.b64decode(part["audio"])) // 2 == round(end_ms * 24)
    assert part["transcript"] == "Good morning."        # the words heard before audio_end_ms, no more
    # past the (now shorter) audio: refused, as the service does
    await ws.send(json.dumps({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                              "audio_end_ms": end_ms + 500}))
    err = (await until(ws, {"conversation.item.truncated", "error"}))[-1]
    await ws.close()
    assert err["type"] == "error" and err["error"]["param"] == "audio_end_ms"
    validate_all(engine.events, "ga")


async def test_truncating_mid_answer_keeps_only_what_was_heard(engine):
    ws = await open_session(engine)
    await ws.send(create(message("One sentence here. Another sentence there. A third one at last.")))
    await ws.send(json.dumps({"type": "response.create", "response": {"metadata": dict(
        META, verbatim_fault=json.dumps({"delay_ms": 20}))}}))
    seen = await until(ws, {"response.output_audio.delta"})
    item_id = seen[-1]["item_id"]
    await ws.send(json.dumps({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                              "audio_end_ms": 100}))
    seen = await until(ws, {"response.done"})
    assert any(e["type"] == "conversation.item.truncated" for e in seen)
    # the response itself goes on to its end, as the service's does
    assert seen[-1]["response"]["status"] == "completed"
    got = await retrieve(ws, item_id)
    await ws.close()
    part = got["item"]["content"][0]
    assert len(base64.b64decode(part["audio"])) // 2 == 2400
    assert part["transcript"] == ""


@pytest.mark.parametrize("event,code,param", [
    ({"item_id": "USER"}, "unsupported_content_type", "item_id"),
    ({"item_id": "nope", "audio_end_ms": 0}, "item_not_found", "item_id"),
    ({"item_id": "ANSWER"}, "missing_required_parameter", "audio_end_ms"),
    ({"item_id": "ANSWER", "audio_end_ms": -1}, "invalid_value", "audio_end_ms"),
    ({"item_id": "ANSWER", "audio_end_ms": 10, "content_index": 1}, "invalid_value", "content_index"),
])
async def test_bad_truncations_are_refused_by_name(engine, event, code, param):
    ws = await open_session(engine)
    await ws.send(create(message("Hello.") | {"id": "item_user"}))
    response = await answered(ws, "Hello again.")
    ids = {"USER": "item_user", "ANSWER": response["output"][0]["id"]}
    event = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in event.items()}
    if event["item_id"] == "item_user":
        event["audio_end_ms"] = 0
    await ws.send(json.dumps({"type": "conversation.item.truncate", **event}))
    err = (await until(ws, {"conversation.item.truncated", "error"}))[-1]
    await ws.close()
    assert err["type"] == "error" and err["error"]["code"] == code and err["error"]["param"] == param, err


TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.mark.parametrize("flavor", ["ga", "beta"])
async def test_call_tool_emits_a_function_call_and_its_output_is_answered(engine, flavor):
    ws = await open_session(engine, flavor)
    await ws.send(json.dumps({"type": "session.update", "session": {"tools": [TOOL]} | (
        {} if flavor == "beta" else {"type": "realtime"})}))
    await until(ws, {"session.updated"}, flavor)
    await ws.send(create(message("Weather in Oslo?")))
    fault = json.dumps({"call_tool": {"name": "get_weather", "arguments": {"city": "Oslo"}}})
    await ws.send(json.dumps({"type": "response.create", "response": {"metadata": {"verbatim_fault": fault}}}))
    seen = await until(ws, {"response.done", "error"}, flavor)
    done = seen[-1]["response"]
    assert done["status"] == "completed", seen[-1]
    call = done["output"][0]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Oslo"}
    deltas = "".join(e["delta"] for e in seen if e["type"] == "response.function_call_arguments.delta")
    assert deltas == call["arguments"]
    assert not [e for e in seen if "audio" in e["type"]]    # a call, not speech
    await ws.send(create({"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21 degrees."}))
    await ws.send(json.dumps({"type": "response.create"}))
    seen = await until(ws, {"response.done", "error"}, flavor)
    await ws.close()
    assert transcript_of(seen, flavor) == "Sunny, 21 degrees."
    validate_all(engine.events, flavor)


async def test_call_tool_needs_a_defined_function(engine):
    ws = await open_session(engine)
    fault = json.dumps({"call_tool": {"name": "launch", "arguments": {}}})
    await ws.send(json.dumps({"type": "response.create", "response": {
        "conversation": "none", "input": [message("Go.")], "metadata": {"verbatim_fault": fault}}}))
    err = (await until(ws, {"response.done", "error"}))[-1]
    await ws.close()
    assert err["type"] == "error" and err["error"]["param"] == "response.metadata.verbatim_fault"
    assert "launch" in err["error"]["message"]


async def test_function_call_items_from_the_client_are_kept_and_retrievable(engine):
    ws = await open_session(engine)
    await ws.send(create({"type": "function_call", "id": "item_call", "call_id": "call_1", "name": "f",
                          "arguments": "{}"}))
    await ws.send(create({"type": "function_call_output", "id": "item_out", "call_id": "call_1", "output": "42"}))
    got = await retrieve(ws, "item_out")
    await ws.close()
    assert got["item"] == {"id": "item_out", "object": "realtime.item", "type": "function_call_output",
                           "status": "completed", "call_id": "call_1", "output": "42"}
    validate_all(engine.events, "ga")


async def test_items_go_where_previous_item_id_says(engine):
    ws = await open_session(engine)
    await ws.send(create(message("One.") | {"id": "item_a"}))
    await ws.send(create(message("Zero.") | {"id": "item_0"}, previous_item_id="root"))
    await ws.send(create(message("Half.") | {"id": "item_h"}, previous_item_id="item_0"))
    await ws.send(create(message("Lost."), previous_item_id="item_nope"))
    seen = await until(ws, {"error"})
    assert seen[-1]["error"]["param"] == "previous_item_id" and seen[-1]["error"]["code"] == "item_not_found"
    added = {e["item"]["id"]: e["previous_item_id"] for e in seen if e["type"] == "conversation.item.added"}
    assert added == {"item_a": None, "item_0": None, "item_h": "item_0"}
    await ws.send(auto_response())
    seen = await until(ws, {"response.done", "error"})
    await ws.close()
    assert transcript_of(seen) == "Zero. Half. One."


async def test_older_answers_forget_their_audio_past_the_session_budget(engine, monkeypatch):
    from app.engine import session as session_mod

    # about 5 s of 24 kHz pcm16: each answer (about 4 s) fits alone, not both (an answer longer
    # than the whole budget keeps no audio: test_memory_bounds)
    monkeypatch.setattr(session_mod, "MAX_KEPT_AUDIO", 250_000)
    ws = await open_session(engine)
    first = await answered(ws, "The first answer is long enough to fill the budget on its own, nearly.")
    second = await answered(ws, "The second answer is long enough to fill the budget on its own, nearly.")
    old = (await retrieve(ws, first["output"][0]["id"]))["item"]["content"][0]
    new = (await retrieve(ws, second["output"][0]["id"]))["item"]["content"][0]
    await ws.close()
    assert "audio" not in old and old["transcript"].startswith("The first answer")
    assert len(base64.b64decode(new["audio"])) > 0


async def test_a_session_object_past_its_size_limit_is_refused(engine):
    ws = await open_session(engine)
    tools = [dict(TOOL, name=f"tool_{i}", description="x" * 4000) for i in range(100)]
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "tools": tools}}))
    err = (await until(ws, {"session.updated", "error"}))[-1]
    await ws.close()
    assert err["type"] == "error" and err["error"]["code"] == "string_above_max_length"
    assert err["error"]["param"] == "session"
