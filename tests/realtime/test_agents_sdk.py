"""A Realtime client no one here wrote: the openai-agents SDK (`RealtimeAgent` + `RealtimeRunner`)
against `python -m app serve`. Every turn must end without a `RealtimeError`, and every event the
server sent (as the SDK received it) must validate against the openai SDK's GA types."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

agents = pytest.importorskip("agents.realtime", reason="openai-agents is in the test extra")

from agents import function_tool  # noqa: E402
from agents.realtime import RealtimeAgent, RealtimeRunner  # noqa: E402
from agents.realtime.model_inputs import RealtimeModelSendRawMessage  # noqa: E402

from .helpers import validate_all  # noqa: E402
from .test_serve_cli import start_serve, stop  # noqa: E402

LONG = ("The meeting moved to ten thirty. Bring the report and the budget. We will discuss the plan for "
        "next quarter. Then we will look at the hiring numbers. After lunch the team presents the demo.")


@pytest.fixture(scope="module")
def served():
    """One `serve` process for the module: what the agents SDK talks to."""
    proc, info, key = start_serve()
    try:
        yield SimpleNamespace(port=urlsplit(info["url"]).port, api_key=key)
    finally:
        stop(proc)


def model_config(server, **settings) -> dict[str, Any]:
    # the SDK sends api_key as `Authorization: Bearer` (unless model_config sets "headers")
    cfg: dict[str, Any] = {"url": f"ws://127.0.0.1:{server.port}/v1/realtime?model=gpt-realtime",
                           "api_key": server.api_key}
    if settings:
        cfg["initial_model_settings"] = settings
    return cfg


class Turns:
    """Reads a session's events in the background: errors, audio, and each turn's end."""

    def __init__(self, session) -> None:
        self.session = session
        self.events: list[Any] = []
        self.raw: list[dict[str, Any]] = []      # every server event, as the SDK received it
        self.errors: list[Any] = []
        self.ended = asyncio.Event()
        self.first_audio = asyncio.Event()
        self.turns = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for ev in self.session:
            self.events.append(ev)
            if ev.type == "raw_model_event" and getattr(ev.data, "type", None) == "raw_server_event":
                self.raw.append(ev.data.data)
            if ev.type == "error":
                self.errors.append(ev.error)
            elif ev.type == "audio":
                self.first_audio.set()
            elif ev.type == "agent_end":
                self.turns += 1
                self.ended.set()

    async def turn(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self.ended.wait(), timeout)
        self.ended.clear()

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.type == kind]

    def assistant_transcripts(self) -> list[str]:
        history = self.of("history_updated")[-1].history
        out = []
        for item in history:
            if getattr(item, "role", None) == "assistant":
                out.append("".join(getattr(c, "transcript", None) or getattr(c, "text", None) or ""
                                   for c in item.content))
        return out

    async def close(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except (asyncio.CancelledError, Exception):
            pass


async def open_session(server, agent: RealtimeAgent, **settings):
    runner = RealtimeRunner(agent)
    session = await runner.run(model_config=model_config(server, **settings))
    await session.__aenter__()
    return session, Turns(session)


async def say(session, text: str, metadata: dict[str, str]) -> None:
    """A user message and a response.create carrying request metadata (the engine's test options),
    sent through the SDK as raw client events."""
    await session.model.send_event(RealtimeModelSendRawMessage(message={
        "type": "conversation.item.create",
        "other_data": {"item": {"type": "message", "role": "user",
                                "content": [{"type": "input_text", "text": text}]}}}))
    await session.model.send_event(RealtimeModelSendRawMessage(message={
        "type": "response.create", "other_data": {"response": {"metadata": metadata}}}))


def raw_events(turns: Turns, kind: str) -> list[dict[str, Any]]:
    return [e for e in turns.raw if e["type"] == kind]


async def test_one_message_is_answered_with_audio_and_a_transcript(served):
    session, turns = await open_session(served, RealtimeAgent(name="echo", instructions="Read back."))
    try:
        await session.send_message("Good morning. The train leaves at nine.")
        await turns.turn()
        assert not turns.errors, turns.errors
        audio = b"".join(e.audio.data for e in turns.of("audio"))
        assert len(audio) / 2 / 24000 > 1.0          # pcm16 at 24 kHz: over a second of speech
        assert turns.assistant_transcripts()[-1] == "Good morning. The train leaves at nine."
    finally:
        await turns.close()
        await session.close()
    types = validate_all(turns.raw, "ga")
    assert {"session.created", "session.updated", "response.output_audio.delta", "response.done"} <= types
    created = raw_events(turns, "session.updated")[-1]["session"]
    assert created["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"   # what the SDK set
    assert created["audio"]["output"]["voice"] == "ash"


async def test_two_messages_in_one_session_are_answered_in_turn(served):
    session, turns = await open_session(served, RealtimeAgent(name="echo", instructions="Read back."))
    try:
        await session.send_message("First question here.")
        await turns.turn()
        await session.send_message("Second question there.")
        await turns.turn()
        assert not turns.errors, turns.errors
        assert turns.assistant_transcripts()[-2:] == ["First question here.", "Second question there."]
    finally:
        await turns.close()
        await session.close()
    validate_all(turns.raw, "ga")
    assert len(raw_events(turns, "response.done")) == 2


@pytest.mark.parametrize("turn_detection", ["sdk-default", None])
async def test_interrupting_mid_answer_truncates_the_item_without_an_error(served, turn_detection):
    settings = {} if turn_detection == "sdk-default" else {"turn_detection": None}
    session, turns = await open_session(served, RealtimeAgent(name="echo", instructions="Read back."),
                                        **settings)
    try:
        # paced (the engine is otherwise done before a client can interrupt): the interrupt lands mid-answer
        await say(session, LONG, {"verbatim_fault": json.dumps({"delay_ms": 25})})
        await asyncio.wait_for(turns.first_audio.wait(), 30)
        await session.interrupt()     # conversation.item.truncate (+ response.cancel without server VAD)
        await turns.turn()
        await asyncio.sleep(0.3)      # the SDK retrieves the truncated item after conversation.item.truncated
        assert not turns.errors, turns.errors
        assert turns.of("audio_interrupted")
    finally:
        await turns.close()
        await session.close()
    validate_all(turns.raw, "ga")
    truncated = raw_events(turns, "conversation.item.truncated")
    assert len(truncated) == 1
    kinds = [e["type"] for e in turns.raw]
    assert kinds.index("conversation.item.truncated") < kinds.index("response.done")   # mid-answer
    if turn_detection is None:   # no server VAD: the SDK also cancels the response
        assert raw_events(turns, "response.done")[0]["response"]["status"] == "cancelled"
    retrieved = raw_events(turns, "conversation.item.retrieved")
    assert retrieved and retrieved[-1]["item"]["id"] == truncated[0]["item_id"]
    heard = retrieved[-1]["item"]["content"][0]["transcript"]
    assert len(heard) < len(LONG) and LONG.startswith(heard)
    assert not raw_events(turns, "error")


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"It is sunny in {city}."


async def test_a_function_tool_round_trip(served):
    agent = RealtimeAgent(name="weather", instructions="Use the tool.", tools=[get_weather])
    session, turns = await open_session(served, agent)
    try:
        # the engine never calls tools by itself: the test asks for the call (fault call_tool)
        fault = json.dumps({"call_tool": {"name": "get_weather", "arguments": {"city": "Oslo"}}})
        await say(session, "Weather in Oslo?", {"verbatim_fault": fault})
        await turns.turn()            # the call
        await turns.turn()            # the answer after the tool's output
        assert not turns.errors, turns.errors
        ends = turns.of("tool_end")
        assert len(ends) == 1 and ends[0].output == "It is sunny in Oslo."
        assert turns.assistant_transcripts()[-1] == "It is sunny in Oslo."
    finally:
        await turns.close()
        await session.close()
    validate_all(turns.raw, "ga")
    args = raw_events(turns, "response.function_call_arguments.done")
    assert len(args) == 1 and json.loads(args[0]["arguments"]) == {"city": "Oslo"}
    outputs = [e["item"] for e in raw_events(turns, "conversation.item.added")
               if e["item"]["type"] == "function_call_output"]
    assert outputs and outputs[0]["call_id"] == args[0]["call_id"]
