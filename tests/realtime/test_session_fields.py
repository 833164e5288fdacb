"""Every session field a GA or beta client sets comes back in `session.updated`, and what an
offline engine can honour it honours: formats, speed, max_output_tokens, the model name."""

from __future__ import annotations

import base64
import json

import pytest
from openai import AsyncOpenAI
from openai.types.beta.realtime.session import Session as BetaSession
from openai.types.realtime import (
    RealtimeAudioConfigInput,
    RealtimeAudioConfigOutput,
    RealtimeSessionCreateRequest,
)

from .helpers import validate_all, validate_event
from .test_limits import META, message, open_session, until

TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}

FULL_GA = {
    "type": "realtime",
    "model": "gpt-realtime-mini",
    "output_modalities": ["audio"],
    "instructions": "Translate faithfully.",
    "audio": {
        "input": {"format": {"type": "audio/pcmu"},
                  "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en", "prompt": "Names: Ana."},
                  "noise_reduction": {"type": "near_field"},
                  "turn_detection": {"type": "server_vad", "threshold": 0.6, "prefix_padding_ms": 300,
                                     "silence_duration_ms": 500, "create_response": True,
                                     "interrupt_response": True, "idle_timeout_ms": 6000}},
        "output": {"format": {"type": "audio/pcmu"}, "voice": "marin", "speed": 1.1},
    },
    "tools": [TOOL],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "max_output_tokens": 512,
    "tracing": {"workflow_name": "verbatim-test", "group_id": "g1", "metadata": {"run": "1"}},
    "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
    "prompt": {"id": "pmpt_123", "version": "2", "variables": {"city": "Oslo"}},
    "include": ["item.input_audio_transcription.logprobs"],
    "reasoning": {"effort": "low"},
    "parallel_tool_calls": False,
}

FULL_BETA = {
    "model": "gpt-4o-realtime-preview",
    "modalities": ["text", "audio"],
    "instructions": "Translate faithfully.",
    "voice": "coral",
    "input_audio_format": "g711_ulaw",
    "output_audio_format": "g711_alaw",
    "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "Names: Ana."},
    "input_audio_noise_reduction": {"type": "far_field"},
    "turn_detection": {"type": "semantic_vad", "eagerness": "low", "create_response": False,
                       "interrupt_response": False},
    "tools": [TOOL],
    "tool_choice": "required",
    "temperature": 0.7,
    "max_response_output_tokens": 300,
    "speed": 1.2,
    "tracing": "auto",
}


def test_the_maximal_sessions_set_every_field_the_sdk_types_define():
    assert set(FULL_GA) == set(RealtimeSessionCreateRequest.model_fields)
    assert set(FULL_GA["audio"]["input"]) == set(RealtimeAudioConfigInput.model_fields)
    assert set(FULL_GA["audio"]["output"]) == set(RealtimeAudioConfigOutput.model_fields)
    assert set(FULL_BETA) | {"id"} == set(BetaSession.model_fields)


async def test_every_field_of_a_maximal_ga_session_update_is_echoed(engine):
    client = AsyncOpenAI(api_key=engine.api_key, websocket_base_url=engine.url)
    async with client.realtime.connect(model="gpt-realtime-mini") as conn:
        created = json.loads(await conn.recv_bytes())
        assert created["type"] == "session.created"
        assert created["session"]["model"] == "gpt-realtime-mini"       # the model from the URL, kept
        assert created["session"]["object"] == "realtime.session" and created["session"]["id"].startswith("sess_")
        await conn.session.update(session=FULL_GA)
        updated = json.loads(await conn.recv_bytes())
    assert updated["type"] == "session.updated", updated
    validate_event(updated, "ga")
    session = updated["session"]
    for key, value in FULL_GA.items():
        assert session[key] == value, key
    assert session["id"] == created["session"]["id"]


async def test_every_field_of_a_maximal_beta_session_update_is_echoed(engine):
    ws = await open_session(engine, "beta")
    await ws.send(json.dumps({"type": "session.update", "session": FULL_BETA}))
    updated = (await until(ws, {"session.updated", "error"}, "beta"))[-1]
    await ws.close()
    assert updated["type"] == "session.updated", updated
    for key, value in FULL_BETA.items():
        assert updated["session"][key] == value, key


async def test_a_session_keeps_its_settings_over_later_partial_updates(engine):
    ws = await open_session(engine)
    await ws.send(json.dumps({"type": "session.update", "session": FULL_GA}))
    await until(ws, {"session.updated"})
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "instructions": "Other."}}))
    session = (await until(ws, {"session.updated"}))[-1]["session"]
    await ws.close()
    assert session["instructions"] == "Other."
    assert session["audio"] == FULL_GA["audio"] and session["tools"] == [TOOL]
    assert session["max_output_tokens"] == 512


async def test_client_metadata_comes_back_unchanged(engine):
    ws = await open_session(engine)
    await ws.send(json.dumps({"type": "response.create", "response": {
        "conversation": "none", "output_modalities": ["text"], "metadata": {"topic": "weather"},
        "input": [message("Hello there.")]}}))
    seen = await until(ws, {"response.done", "error"})
    await ws.close()
    assert seen[-1]["response"]["metadata"] == {"topic": "weather"}
    assert seen[0]["response"]["metadata"] == {"topic": "weather"}


async def answer(ws, text, flavor="ga", **params):
    await ws.send(json.dumps({"type": "response.create", "response": {
        "conversation": "none", "metadata": dict(META), "input": [message(text)], **params}}))
    return await until(ws, {"response.done", "error"}, flavor)


# espeak's rate scales the whole; Piper's length_scale scales phonemes but not its pauses,
# and samples its durations (measured 1.32–1.40 for Piper, 1.48 for espeak)
@pytest.mark.parametrize("voice,low", [("verse", 1.35), ("alloy", 1.2)])
async def test_speed_1_5_makes_the_audio_about_1_5_times_shorter(engine, voice, low):
    text = "The quick brown fox jumps over the lazy dog near the river bank."
    lengths = {}
    for speed in (1.0, 1.5):
        ws = await open_session(engine)
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "audio": {"output": {"voice": voice, "speed": speed}}}}))
        updated = (await until(ws, {"session.updated"}))[-1]
        assert updated["session"]["audio"]["output"]["speed"] == speed
        seen = await answer(ws, text)
        await ws.close()
        done = seen[-1]
        assert done["type"] == "response.done" and done["response"]["status"] == "completed", done
        lengths[speed] = engine.ground_truth(done["response"]["id"])["audio_samples"]
    ratio = lengths[1.0] / lengths[1.5]
    assert low < ratio < 1.7, (lengths, ratio)


@pytest.mark.parametrize("flavor,fmt", [("ga", {"type": "audio/pcmu"}), ("ga", {"type": "audio/pcma"}),
                                        ("beta", "g711_ulaw")])
async def test_g711_output_is_8khz_one_byte_a_sample_and_echoed(engine, flavor, fmt):
    ws = await open_session(engine, flavor)
    if flavor == "ga":
        session = {"type": "realtime", "audio": {"input": {"format": fmt}, "output": {"format": fmt}}}
    else:
        session = {"input_audio_format": fmt, "output_audio_format": fmt}
    await ws.send(json.dumps({"type": "session.update", "session": session}))
    echoed = (await until(ws, {"session.updated"}, flavor))[-1]["session"]
    if flavor == "ga":
        assert echoed["audio"]["input"]["format"] == fmt and echoed["audio"]["output"]["format"] == fmt
    else:
        assert echoed["input_audio_format"] == fmt and echoed["output_audio_format"] == fmt
    seen = await answer(ws, "Hello from the phone line.", flavor)
    await ws.close()
    delta = "response.output_audio.delta" if flavor == "ga" else "response.audio.delta"
    wire = b"".join(base64.b64decode(e["delta"]) for e in seen if e["type"] == delta)
    samples24 = engine.ground_truth(seen[-1]["response"]["id"])["audio_samples"]
    assert abs(len(wire) - samples24 / 3) <= 8     # 8000 one-byte samples a second


async def test_max_output_tokens_cuts_the_answer_and_says_why(engine):
    ws = await open_session(engine)
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 4}}))
    await until(ws, {"session.updated"})
    seen = await answer(ws, "One two three four five six seven eight.")
    await ws.close()
    validate_all(seen, "ga")
    done = seen[-1]["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert done["max_output_tokens"] == 4
    transcript = [e for e in seen if e["type"] == "response.output_audio_transcript.done"][0]["transcript"]
    assert transcript == "One two three four"
    spoken = " ".join(s["text"] for s in engine.ground_truth(done["id"])["spoken"])
    assert spoken == "One two three four"        # the audio says the cut answer, nothing more


async def test_a_response_may_lower_the_limit_for_itself(engine):
    ws = await open_session(engine)
    seen = await answer(ws, "One two three four five.", max_output_tokens=2)
    await ws.close()
    assert seen[-1]["response"]["status"] == "incomplete"
    assert [e for e in seen if e["type"] == "response.output_audio_transcript.done"][0]["transcript"] == "One two"


@pytest.mark.parametrize("session,param", [
    ({"type": "realtime", "audio": {"output": {"speed": 3}}}, "session.audio.output.speed"),
    ({"type": "realtime", "audio": {"output": {"voice": {"id": 5}}}}, "session.audio.output.voice"),
    ({"type": "realtime", "max_output_tokens": 0}, "session.max_output_tokens"),
    ({"type": "realtime", "tools": [{"type": "function"}]}, "session.tools[0].name"),
    ({"type": "realtime", "truncation": {"type": "retention_ratio"}}, "session.truncation"),
    ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": "x"}}}},
     "session.audio.input.turn_detection"),
    ({"type": "transcription"}, "session.type"),
])
async def test_a_bad_field_is_refused_by_name_and_changes_nothing(engine, session, param):
    ws = await open_session(engine)
    await ws.send(json.dumps({"type": "session.update", "session": session | {"instructions": "Changed."}}))
    err = (await until(ws, {"session.updated", "error"}))[-1]
    assert err["type"] == "error" and err["error"]["param"].startswith(param), err
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
    after = (await until(ws, {"session.updated"}))[-1]["session"]
    await ws.close()
    assert after["instructions"] == ""


async def test_a_custom_voice_is_echoed_and_spoken_with_the_default_voice(engine):
    ws = await open_session(engine)
    await ws.send(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "instructions": "Kept.", "audio": {"output": {"voice": {"id": "voice_1234"}}}}}))
    updated = (await until(ws, {"session.updated", "error"}))[-1]
    assert updated["type"] == "session.updated", updated
    assert updated["session"]["audio"]["output"]["voice"] == {"id": "voice_1234"}
    assert updated["session"]["instructions"] == "Kept."
    seen = await answer(ws, "A custom voice.")
    await ws.close()
    validate_all(seen, "ga")
    done = seen[-1]["response"]
    assert done["status"] == "completed" and done["audio"]["output"]["voice"] == "verse"   # what it spoke
    spoken = engine.ground_truth(done["id"])["spoken"]
    assert spoken and all(s["voice"] == "espeak" for s in spoken)   # the engine's default ("verse")


async def test_a_custom_voice_object_is_refused_by_name_on_beta(engine):
    ws = await open_session(engine, "beta")
    await ws.send(json.dumps({"type": "session.update", "session": {"voice": {"id": "voice_1234"}}}))
    err = (await until(ws, {"session.updated", "error"}, "beta"))[-1]
    await ws.close()
    assert err["type"] == "error" and err["error"]["param"] == "session.voice"


@pytest.mark.parametrize("path,model", [("/v1/realtime?model=gpt-realtime-mini", "gpt-realtime-mini"),
                                        ("/v1/realtime?model=gpt-4o-mini-realtime-preview",
                                         "gpt-4o-mini-realtime-preview"),
                                        ("/openai/v1/realtime?model=my-deployment", "gpt-realtime")])
async def test_the_model_named_in_the_url_is_reported(engine, path, model):
    import websockets

    ws = await websockets.connect(f"ws://127.0.0.1:{engine.port}{path}",
                                  additional_headers={"Authorization": f"Bearer {engine.api_key}"})
    created = json.loads(await ws.recv())
    await ws.close()
    assert created["session"]["model"] == model
