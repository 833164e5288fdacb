"""The unmodified apps Guard sits in front of: the openai Python SDK, as its users write it."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

from openai import AsyncAzureOpenAI, AsyncOpenAI
from realtime.helpers import validate_event

from .conftest import ENGINE_KEY

GA_FORMAT = {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"},
             "g711_alaw": {"type": "audio/pcma"}}


@dataclass
class AppRun:
    raw: list[str] = field(default_factory=list)        # every message as received
    events: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    transcript: str = ""
    closed: BaseException | None = None                  # how the connection ended, if it did
    response: dict[str, Any] | None = None

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def error(self) -> dict[str, Any] | None:
        return next((e for e in self.events if e["type"] == "error"), None)


def connection(base_url: str, shape: str = "ga", key: str = ENGINE_KEY):
    """shape: ga (OpenAI), beta (OpenAI-Beta header), azure (legacy path), azure-v1."""
    root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    if shape == "azure":
        client = AsyncAzureOpenAI(api_key=key, api_version="2025-04-01-preview",
                                  azure_endpoint=root.replace("ws", "http", 1),
                                  websocket_base_url=root + "/openai")
        return client.realtime.connect(model="my-realtime-deployment"), "beta"
    if shape == "azure-v1":
        client = AsyncOpenAI(api_key=key, websocket_base_url=root + "/openai/v1")
        return client.realtime.connect(model="gpt-realtime"), "ga"
    client = AsyncOpenAI(api_key=key, websocket_base_url=base_url)
    if shape == "beta":
        return client.beta.realtime.connect(model="gpt-4o-realtime-preview"), "beta"
    return client.realtime.connect(model="gpt-realtime"), "ga"


def session_update(flavor: str, fmt: str, voice: str = "verse") -> dict[str, Any]:
    if flavor == "beta":
        return {"modalities": ["audio", "text"], "output_audio_format": fmt, "voice": voice}
    return {"type": "realtime", "output_modalities": ["audio"],
            "audio": {"output": {"format": GA_FORMAT[fmt], "voice": voice}}}


def response_params(flavor: str, text: str, metadata: dict[str, str]) -> dict[str, Any]:
    out = {"conversation": "none", "metadata": metadata,
           "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]}
    out["modalities" if flavor == "beta" else "output_modalities"] = ["audio", "text"] if flavor == "beta" else ["audio"]
    return out


async def run_app(base_url: str, *, text: str = "anything", fault: dict | None = None, fmt: str = "pcm16",
                  shape: str = "ga", metadata: dict[str, str] | None = None, key: str = ENGINE_KEY,
                  stop_after_deltas: int | None = None, timeout: float = 60, voice: str = "verse") -> AppRun:
    """One translation request; validates every received event against the SDK's own types."""
    meta = dict(metadata or {"verbatim_source": "en", "verbatim_target": "en", "verbatim_mode": "read"})
    if fault:
        meta["verbatim_fault"] = json.dumps(fault)
    manager, flavor = connection(base_url, shape, key)
    run = AppRun()
    async with manager as conn:
        await conn.session.update(session=session_update(flavor, fmt, voice))
        await conn.response.create(response=response_params(flavor, text, meta))
        deltas = 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    data = await conn.recv_bytes()
                    msg = data.decode("utf-8")
                    run.raw.append(msg)
                    ev = json.loads(msg)
                    validate_event(ev, flavor)
                    run.events.append(ev)
                    kind = ev["type"]
                    if kind.endswith("audio.delta"):
                        run.audio += base64.b64decode(ev["delta"])
                        deltas += 1
                        if stop_after_deltas is not None and deltas >= stop_after_deltas:
                            break
                    elif kind.endswith("audio_transcript.delta"):
                        run.transcript += ev["delta"]
                    elif kind == "response.done":
                        run.response = ev["response"]
                        break
                    elif kind == "error":
                        break
        except Exception as exc:   # a closed connection is a result here, not a test failure
            if exc.__class__.__module__.startswith("websockets"):
                run.closed = exc
            else:
                raise
    return run
