"""Reads the events passing through one connection: each response's transcript, its audio
in the wire format of the session, and the events that close it. Never changes an event.

Both namings are understood (GA `response.output_audio.*`, beta `response.audio.*`); the
audio format comes from `response.created` when the response names one, else from the
last `session.created/updated`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.audio.codecs import decode, get_format

log = logging.getLogger(__name__)
# a big client message is read only with this many brackets: nesting is what defeats a JSON parser
# (RecursionError), and audio appends have none to speak of
DEEP_SUSPECT = 1000

AUDIO_DELTA = {"response.output_audio.delta", "response.audio.delta"}
AUDIO_DONE = {"response.output_audio.done", "response.audio.done"}
TRANSCRIPT_DELTA = {"response.output_audio_transcript.delta", "response.audio_transcript.delta"}
TRANSCRIPT_DONE = {"response.output_audio_transcript.done", "response.audio_transcript.done"}
# what a response's end looks like; Guard in repair mode holds these until the audio is right
CLOSING = AUDIO_DONE | {"response.content_part.done", "response.output_item.done", "response.done"}
GA_FORMATS = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}

# audio kept for verification and repair, in wire bytes; past a budget a response's audio passes
# through unkept and unverified (8 MB is about 170 s of 24 kHz pcm16, 1000 s of 8 kHz g711)
RESPONSE_BYTES = 8_000_000        # one response
CONNECTION_BYTES = 24_000_000     # all open responses of one connection
MAX_RESPONSES = 64       # open responses tracked per connection
MAX_INPUT_CHARS = 4000   # what is kept of the user's text, for history


@dataclass
class TappedResponse:
    response_id: str
    audio_format: str = "pcm16"
    voice: str | None = None
    input_text: str = ""
    item_id: str | None = None
    output_index: int = 0
    content_index: int = 0
    transcript_parts: list[str] = field(default_factory=list)
    transcript_final: str | None = None
    audio: bytearray = field(default_factory=bytearray)   # wire bytes, as sent
    audio_deltas: int = 0
    delta_template: dict[str, Any] | None = None
    audio_done: bool = False
    done: bool = False
    status: str | None = None
    overflow: bool = False
    overflow_reason: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    first_audio: float | None = None
    finished: float | None = None

    @property
    def transcript(self) -> str:
        return self.transcript_final if self.transcript_final is not None else "".join(self.transcript_parts)

    @property
    def has_audio(self) -> bool:
        return self.audio_deltas > 0 or bool(self.transcript_parts) or self.transcript_final is not None

    @property
    def complete(self) -> bool:
        """All of the audio and the whole transcript are known."""
        return self.done or (self.audio_done and self.transcript_final is not None)

    @property
    def sample_rate(self) -> int:
        return get_format(self.audio_format).sample_rate

    def pcm(self) -> np.ndarray:
        return self.pcm_from(0)

    def pcm_from(self, offset: int) -> np.ndarray:
        """Decoded audio from a byte offset on (a copy: the buffer keeps growing)."""
        data = bytes(self.audio[offset:])
        return np.array(decode(data, self.audio_format), dtype=np.int16)

    def delta_event(self, delta_b64: str, event_id: str, beta: bool) -> dict[str, Any]:
        """An audio delta shaped like the ones the service sent for this response."""
        if self.delta_template is not None:
            ev = dict(self.delta_template)
        else:
            ev = {"type": "response.audio.delta" if beta else "response.output_audio.delta",
                  "response_id": self.response_id, "item_id": self.item_id or "",
                  "output_index": self.output_index, "content_index": self.content_index}
        ev["event_id"] = event_id
        ev["delta"] = delta_b64
        return ev


class SessionTap:
    """One connection's view of the protocol."""

    def __init__(self, response_bytes: int = RESPONSE_BYTES, connection_bytes: int = CONNECTION_BYTES) -> None:
        self.audio_format = "pcm16"
        self.voice: str | None = None
        self.beta: bool | None = None
        self.session_id: str | None = None
        self.model: str | None = None
        self.last_input = ""
        self.responses: dict[str, TappedResponse] = {}
        self.response_bytes, self.connection_bytes = response_bytes, connection_bytes

    @property
    def kept_bytes(self) -> int:
        """Audio kept for all open responses of this connection."""
        return sum(len(r.audio) for r in self.responses.values())

    # --- client -> server ------------------------------------------------------------------------
    def client_message(self, msg: str | bytes) -> bool:
        """Remember what the user typed (for history); audio appends are never parsed.
        False for a message nested too deeply to read: Guard answers it instead of the service."""
        if not isinstance(msg, str):
            return True
        big = len(msg) > 64_000
        if big and msg.count("[") + msg.count("{") < DEEP_SUSPECT:
            return True
        try:
            ev = json.loads(msg)
        except RecursionError:
            return False
        except ValueError:
            return True     # the service answers it as it does
        if big or not isinstance(ev, dict):
            return True
        kind = ev.get("type")
        if kind == "conversation.item.create":
            text = _user_text(ev.get("item"))
            if text:
                self.last_input = text[:MAX_INPUT_CHARS]
        elif kind == "response.create" and isinstance(ev.get("response"), dict):
            items = ev["response"].get("input")
            for item in items if isinstance(items, list) else []:
                text = _user_text(item)
                if text:
                    self.last_input = text[:MAX_INPUT_CHARS]
        return True

    # --- server -> client ------------------------------------------------------------------------
    def server_message(self, msg: str | bytes) -> dict[str, Any] | None:
        """Parse and record one server event; returns it (None for non-JSON frames)."""
        try:
            ev = json.loads(msg)
        except (ValueError, UnicodeDecodeError):
            return None
        except RecursionError:    # forwarded unchanged, unread: the app decides what it makes of it
            log.warning("guard: an upstream event (%d bytes) nested too deeply to read was passed on unread",
                        len(msg))
            return None
        if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
            return None
        self.server_event(ev)
        return ev

    def server_event(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind in ("session.created", "session.updated"):
            self._session(ev.get("session"))
            return
        if kind == "response.created":
            r = ev.get("response") if isinstance(ev.get("response"), dict) else {}
            rid = r.get("id")
            if isinstance(rid, str):
                self._open(rid, r)
            return
        rid = ev.get("response_id")
        if kind == "response.done":
            r = ev.get("response") if isinstance(ev.get("response"), dict) else {}
            rid = r.get("id")
        resp = self.responses.get(rid) if isinstance(rid, str) else None
        if resp is None:
            return
        if kind in AUDIO_DELTA:
            self._audio_delta(resp, ev)
        elif kind in TRANSCRIPT_DELTA:
            self.beta = kind == "response.audio_transcript.delta"
            self._place(resp, ev)
            if isinstance(ev.get("delta"), str) and sum(map(len, resp.transcript_parts)) < 200_000:
                resp.transcript_parts.append(ev["delta"])
        elif kind in TRANSCRIPT_DONE:
            self._place(resp, ev)
            if isinstance(ev.get("transcript"), str):
                resp.transcript_final = ev["transcript"]
        elif kind in AUDIO_DONE:
            self.beta = kind == "response.audio.done"
            self._place(resp, ev)
            resp.audio_done = True
        elif kind == "response.done":
            self._done(resp, ev.get("response") or {})

    def _audio_delta(self, resp: TappedResponse, ev: dict[str, Any]) -> None:
        self.beta = ev["type"] == "response.audio.delta"
        self._place(resp, ev)
        delta = ev.get("delta")
        if isinstance(delta, str) and not resp.overflow:
            try:
                data = base64.b64decode(delta, validate=False)
            except (binascii.Error, ValueError):
                data = b""
            if len(resp.audio) + len(data) > self.response_bytes:
                resp.overflow, resp.overflow_reason = True, f"over {_mb(self.response_bytes)} MB"
            elif self.kept_bytes + len(data) > self.connection_bytes:
                resp.overflow = True
                resp.overflow_reason = f"over {_mb(self.connection_bytes)} MB with the connection's other answers"
            else:
                resp.audio += data     # on overflow what is kept stays until released (held audio lives here)
        resp.audio_deltas += 1
        if resp.first_audio is None:
            resp.first_audio = time.monotonic()
        if resp.delta_template is None:
            resp.delta_template = {k: v for k, v in ev.items() if k not in ("delta", "event_id")}

    @staticmethod
    def _done(resp: TappedResponse, r: dict[str, Any]) -> None:
        resp.done = True
        resp.finished = time.monotonic()
        resp.status = r.get("status") if isinstance(r.get("status"), str) else None
        if resp.transcript_final is None:
            final = _output_transcript(r)
            if final is not None and (final or not resp.transcript_parts):
                resp.transcript_final = final

    def forget(self, response_id: str) -> None:
        self.responses.pop(response_id, None)

    # --- helpers ------------------------------------------------------------------------------------
    def _open(self, rid: str, r: dict[str, Any]) -> None:
        fmt = _response_format(r) or self.audio_format
        voice = r.get("voice") if isinstance(r.get("voice"), str) else None
        audio = r.get("audio") if isinstance(r.get("audio"), dict) else {}
        out = audio.get("output") if isinstance(audio.get("output"), dict) else {}
        voice = voice or (out.get("voice") if isinstance(out.get("voice"), str) else None) or self.voice
        meta = r.get("metadata") if isinstance(r.get("metadata"), dict) else {}
        while len(self.responses) >= MAX_RESPONSES:   # the oldest open one is given up
            self.responses.pop(next(iter(self.responses)))
        self.responses[rid] = TappedResponse(rid, fmt, voice, self.last_input, metadata=dict(meta))

    def _session(self, s: Any) -> None:
        if not isinstance(s, dict):
            return
        if isinstance(s.get("id"), str):
            self.session_id = s["id"]
        if isinstance(s.get("model"), str):
            self.model = s["model"]
        if "output_audio_format" in s or "modalities" in s:
            self.beta = True
        elif s.get("type") == "realtime":
            self.beta = False
        fmt = _response_format(s)
        if fmt:
            self.audio_format = fmt
        voice = s.get("voice")
        audio = s.get("audio") if isinstance(s.get("audio"), dict) else {}
        out = audio.get("output") if isinstance(audio.get("output"), dict) else {}
        voice = voice if isinstance(voice, str) else out.get("voice")
        if isinstance(voice, str):
            self.voice = voice

    @staticmethod
    def _place(resp: TappedResponse, ev: dict[str, Any]) -> None:
        if resp.item_id is None and isinstance(ev.get("item_id"), str):
            resp.item_id = ev["item_id"]
            if isinstance(ev.get("output_index"), int):
                resp.output_index = ev["output_index"]
            if isinstance(ev.get("content_index"), int):
                resp.content_index = ev["content_index"]


def _mb(n: int) -> str:
    return f"{n / 1e6:g}"


def _response_format(obj: dict[str, Any]) -> str | None:
    """The output audio format a session or response object names, in beta naming."""
    fmt = obj.get("output_audio_format")
    if isinstance(fmt, str) and fmt in ("pcm16", "g711_ulaw", "g711_alaw"):
        return fmt
    audio = obj.get("audio") if isinstance(obj.get("audio"), dict) else {}
    out = audio.get("output") if isinstance(audio.get("output"), dict) else {}
    f = out.get("format")
    if isinstance(f, dict):
        return GA_FORMATS.get(f.get("type"))
    if isinstance(f, str):
        return GA_FORMATS.get(f) or (f if f in ("pcm16", "g711_ulaw", "g711_alaw") else None)
    return None


def _user_text(item: Any) -> str:
    if not isinstance(item, dict) or item.get("type") != "message" or item.get("role", "user") != "user":
        return ""
    parts = item.get("content") if isinstance(item.get("content"), list) else []
    return "".join(p.get("text", "") for p in parts
                   if isinstance(p, dict) and p.get("type") in ("input_text", "text") and isinstance(p.get("text"), str))


def _output_transcript(r: dict[str, Any]) -> str | None:
    output = r.get("output")
    for item in output if isinstance(output, list) else []:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and isinstance(part.get("transcript"), str):
                return part["transcript"]
    return None
