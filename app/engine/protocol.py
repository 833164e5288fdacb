"""Server event shapes of the Realtime protocol, GA and beta namings side by side."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
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
    def model_name(self, requested: str) -> str:
        """Deployment names are not model names; report the model family as Azure does."""
        if requested in KNOWN_MODELS:
            return requested
        return "gpt-4o-realtime-preview" if self.beta else "gpt-realtime"

    def session(self, s: "SessionConfig") -> dict[str, Any]:
        if self.beta:
            return {"id": s.id, "model": self.model_name(s.model),
                    "modalities": list(s.modalities), "instructions": s.instructions, "voice": s.voice,
                    "input_audio_format": "pcm16", "output_audio_format": s.audio_format,
                    "turn_detection": None, "tools": [], "tool_choice": "auto", "temperature": 0.8,
                    "max_response_output_tokens": "inf", "x_verbatim": s.extension()}
        return {"type": "realtime", "model": self.model_name(s.model),
                "output_modalities": ["text"] if s.modalities == ("text",) else ["audio"],
                "instructions": s.instructions,
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None},
                          "output": {"format": ga_format(s.audio_format), "voice": s.voice, "speed": 1.0}},
                "tools": [], "tool_choice": "auto", "max_output_tokens": "inf",
                "x_verbatim": s.extension()}

    def user_item(self, item_id: str, text: str) -> dict[str, Any]:
        return {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_text", "text": text}]}

    def assistant_item(self, item_id: str, status: str, audio: bool, transcript: str | None) -> dict[str, Any]:
        content = []
        if transcript is not None:
            key = "transcript" if audio else "text"
            content.append({"type": self.content_type(audio), key: transcript})
        return {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": status, "content": content}

    def response(self, r: "ResponseState") -> dict[str, Any]:
        out: dict[str, Any] = {"id": r.id, "object": "realtime.response", "status": r.status,
                               "status_details": r.status_details, "output": r.output_items(self),
                               "conversation_id": None, "metadata": r.metadata or None,
                               "usage": r.usage()}
        if self.beta:
            out["modalities"] = ["text", "audio"] if r.audio else ["text"]
            out["voice"] = r.voice
            out["output_audio_format"] = r.audio_format
        else:
            out["output_modalities"] = ["audio"] if r.audio else ["text"]
            out["audio"] = {"output": {"format": ga_format(r.audio_format), "voice": r.voice}}
        return out


def ga_format(name: str) -> dict[str, Any]:
    return {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"},
            "g711_alaw": {"type": "audio/pcma"}}[name]


def format_from_ga(fmt: Any) -> str | None:
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        return None
    return {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}.get(fmt["type"])


@dataclass
class SessionConfig:
    id: str
    model: str
    voice: str = "alloy"
    audio_format: str = "pcm16"
    modalities: tuple[str, ...] = ("text", "audio")
    instructions: str = ""
    translation: str = "unavailable"

    def extension(self) -> dict[str, Any]:
        """Vendor field the Verbatim client reads; other clients ignore it."""
        return {"engine": "verbatim-local", "translation": self.translation, "session_id": self.id}


@dataclass
class ResponseState:
    id: str
    item_id: str
    voice: str
    audio_format: str
    audio: bool
    metadata: dict[str, str]
    status: str = "in_progress"
    status_details: Any = None
    transcript: str | None = None
    input_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    started: bool = False

    def output_items(self, shape: Shape) -> list[dict[str, Any]]:
        if not self.started:
            return []
        item_status = "completed" if self.status == "completed" else ("in_progress" if self.status == "in_progress"
                                                                      else "incomplete")
        return [shape.assistant_item(self.item_id, item_status, self.audio,
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
