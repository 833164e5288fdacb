"""Server event shapes of the Realtime protocol, GA and beta namings side by side."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count(1)
KNOWN_MODELS = {"gpt-realtime", "gpt-realtime-2025-08-28", "gpt-4o-realtime-preview",
                "gpt-4o-realtime-preview-2024-12-17", "gpt-4o-realtime-preview-2025-06-03",
                "gpt-4o-mini-realtime-preview", "gpt-4o-mini-realtime-preview-2024-12-17"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}{next(_counter):04d}"[:32]


@dataclass(frozen=True)
class Shape:
    flavor: str                 # "ga" | "beta"

    @property
    def beta(self) -> bool:
        return self.flavor == "beta"

    # event names -----------------------------------------------------------------------
    @property
    def audio_delta(self) -> str:
        return "response.audio.delta" if self.beta else "response.output_audio.delta"

    @property
    def audio_done(self) -> str:
        return "response.audio.done" if self.beta else "response.output_audio.done"

    @property
    def transcript_delta(self) -> str:
        return "response.audio_transcript.delta" if self.beta else "response.output_audio_transcript.delta"

    @property
    def transcript_done(self) -> str:
        return "response.audio_transcript.done" if self.beta else "response.output_audio_transcript.done"

    @property
    def text_delta(self) -> str:
        return "response.text.delta" if self.beta else "response.output_text.delta"

    @property
    def text_done(self) -> str:
        return "response.text.done" if self.beta else "response.output_text.done"

    def content_type(self, audio: bool) -> str:
        if self.beta:
            return "audio" if audio else "text"
        return "output_audio" if audio else "output_text"

    # objects ----------------------------------------------------------------------------
    def session(self, s: SessionConfig) -> dict[str, Any]:
        """The whole session as the service reports it: every field the client set, echoed."""
        common = {"id": s.id, "object": "realtime.session", "expires_at": s.expires_at, "model": s.model,
                  "instructions": s.instructions, "tools": s.tools, "tool_choice": s.tool_choice,
                  "tracing": s.tracing}
        if self.beta:
            out = common | {
                "modalities": list(s.modalities), "voice": s.voice,
                "input_audio_format": s.input_format, "output_audio_format": s.audio_format,
                "input_audio_transcription": s.transcription, "input_audio_noise_reduction": s.noise_reduction,
                "turn_detection": s.turn_detection, "temperature": s.temperature, "speed": s.speed,
                "max_response_output_tokens": s.max_output_tokens}
        else:
            out = {"type": "realtime"} | common | {
                "output_modalities": ["text"] if s.modalities == ("text",) else ["audio"],
                "audio": {"input": {"format": ga_format(s.input_format), "transcription": s.transcription,
                                    "noise_reduction": s.noise_reduction, "turn_detection": s.turn_detection},
                          "output": {"format": ga_format(s.audio_format), "voice": s.voice, "speed": s.speed}},
                "max_output_tokens": s.max_output_tokens, "truncation": s.truncation, "prompt": s.prompt,
                "include": s.include}
            out |= {k: v for k, v in s.extra.items() if v is not None}   # reasoning, parallel_tool_calls
        out["x_verbatim"] = s.extension()
        return out

    def user_item(self, item_id: str, text: str) -> dict[str, Any]:
        return {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_text", "text": text}]}

    def assistant_item(self, item_id: str, status: str, audio: bool, transcript: str | None,
                       audio_b64: str | None = None) -> dict[str, Any]:
        content = []
        if transcript is not None:
            key = "transcript" if audio else "text"
            content.append({"type": self.content_type(audio), key: transcript})
            if audio_b64 is not None:
                content[0]["audio"] = audio_b64
        return {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": status, "content": content}

    def function_call_item(self, item_id: str, status: str, call_id: str, name: str,
                           arguments: str) -> dict[str, Any]:
        return {"id": item_id, "object": "realtime.item", "type": "function_call", "status": status,
                "call_id": call_id, "name": name, "arguments": arguments}

    def response(self, r: ResponseState) -> dict[str, Any]:
        out: dict[str, Any] = {"id": r.id, "object": "realtime.response", "status": r.status,
                               "status_details": r.status_details, "output": r.output_items(self),
                               "conversation_id": r.conversation_id, "metadata": r.metadata or None,
                               "usage": r.usage(), "max_output_tokens": r.max_output_tokens}
        if self.beta:
            out["modalities"] = ["text", "audio"] if r.audio else ["text"]
            out["voice"] = r.voice
            out["output_audio_format"] = r.audio_format
            out["temperature"] = r.temperature
        else:
            out["output_modalities"] = ["audio"] if r.audio else ["text"]
            out["audio"] = {"output": {"format": ga_format(r.audio_format), "voice": r.voice}}
        return out


def reported_model(requested: str, beta: bool, azure: bool) -> str:
    """The model a session reports: the one the client named; an Azure deployment name (not a
    model name) reports the model family, as Azure does."""
    if requested in KNOWN_MODELS or requested.startswith("gpt-") or not azure:
        return requested
    return "gpt-4o-realtime-preview" if beta else "gpt-realtime"


def ga_format(name: str) -> dict[str, Any]:
    return {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"},
            "g711_alaw": {"type": "audio/pcma"}}[name]


def format_from_ga(fmt: Any) -> str | None:
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        return None
    return {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}.get(fmt["type"])


@dataclass
class SessionConfig:
    """One session's settings, stored as the client set them (GA and beta share these)."""
    id: str
    model: str
    expires_at: int = 0
    voice: Any = "alloy"                 # a name, or a custom voice object echoed as given
    audio_format: str = "pcm16"          # output
    input_format: str = "pcm16"
    speed: float = 1.0
    modalities: tuple[str, ...] = ("text", "audio")
    instructions: str = ""
    translation: str = "unavailable"
    turn_detection: Any = None
    transcription: Any = None
    noise_reduction: Any = None
    tools: list[Any] = field(default_factory=list)
    tool_choice: Any = "auto"
    max_output_tokens: Any = "inf"
    temperature: float = 0.8
    tracing: Any = None
    truncation: Any = "auto"
    prompt: Any = None
    include: Any = None
    extra: dict[str, Any] = field(default_factory=dict)   # GA fields only echoed: reasoning, parallel_tool_calls

    def extension(self) -> dict[str, Any]:
        """Vendor field the Verbatim client reads; other clients ignore it."""
        return {"engine": "verbatim-local", "translation": self.translation, "session_id": self.id}


@dataclass
class ToolCall:
    call_id: str
    name: str
    arguments: str


@dataclass
class ResponseState:
    id: str
    item_id: str
    voice: str
    audio_format: str
    audio: bool
    metadata: dict[str, str]
    speed: float = 1.0
    max_output_tokens: Any = "inf"
    temperature: float = 0.8
    conversation_id: str | None = None   # set when the answer joins the default conversation
    tool_call: ToolCall | None = None    # answer with a function call instead of speech
    status: str = "in_progress"
    status_details: Any = None
    transcript: str | None = None
    input_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    started: bool = False
    said: Any = None                     # the session's record of the output item

    def item_status(self) -> str:
        return {"completed": "completed", "in_progress": "in_progress"}.get(self.status, "incomplete")

    def output_items(self, shape: Shape) -> list[dict[str, Any]]:
        if not self.started:
            return []
        if self.tool_call is not None:
            c = self.tool_call
            return [shape.function_call_item(self.item_id, self.item_status(), c.call_id, c.name,
                                             c.arguments if self.status != "in_progress" else "")]
        return [shape.assistant_item(self.item_id, self.item_status(), self.audio,
                                     self.transcript if self.status != "in_progress" else None)]

    def usage(self) -> dict[str, Any] | None:
        if self.status == "in_progress":
            return None
        out = self.output_text_tokens + self.output_audio_tokens
        return {"total_tokens": self.input_tokens + out, "input_tokens": self.input_tokens, "output_tokens": out,
                "input_token_details": {"text_tokens": self.input_tokens, "audio_tokens": 0, "cached_tokens": 0},
                "output_token_details": {"text_tokens": self.output_text_tokens,
                                         "audio_tokens": self.output_audio_tokens}}


def error_event(event_id: str, message: str, *, code: str, kind: str = "invalid_request_error",
                param: str | None = None, client_event_id: str | None = None) -> dict[str, Any]:
    return {"type": "error", "event_id": event_id,
            "error": {"type": kind, "code": code, "message": message, "param": param,
                      "event_id": client_event_id}}
