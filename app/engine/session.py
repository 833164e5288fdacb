"""One client connection to the local engine: validates client events and answers with
the event sequence a real Realtime server emits, in GA or beta naming."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Protocol

import numpy as np
from websockets.exceptions import ConnectionClosed

from app.core.languages import UnknownLanguage, get_language
from app.text.segments import split_sentences

from .faults import Chunk, Fault, FaultError, parse_fault, plan_speech, seed_cases
from .protocol import (
    ResponseState,
    SessionConfig,
    Shape,
    ToolCall,
    error_event,
    format_from_ga,
    new_id,
    reported_model,
)
from .speech import OUTPUT_RATE, render, split_wire, to_wire

log = logging.getLogger(__name__)

MAX_TEXT = 20_000          # characters of any one text: a message, instructions, a tool output
MAX_ITEMS = 256            # conversation items kept; the oldest are forgotten, as context truncation does
MAX_RESPONSES = 10_000     # responses one session may create
MAX_INPUT_ITEMS = 64       # inline items in one response.create
MAX_NAME = 64              # voices, ids and other short strings
MAX_TOOLS = 128            # tool definitions in a session or a response
MAX_SESSION_JSON = 256_000  # bytes of one session object (tools with big schemas included)
MAX_KEPT_AUDIO = 64 << 20  # bytes of answer audio a session keeps for retrieve/truncate; older audio is forgotten
MAX_RETRIEVED_AUDIO = 4 << 20  # base64 audio in one conversation.item.retrieved (clients cap frames at 8 MB)
SESSION_LIFETIME_S = 3600
FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")
SPEED_RANGE = (0.25, 1.5)
UNSUPPORTED = {"input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
               "output_audio_buffer.clear", "transcription_session.update"}
KNOWN = {"session.update", "conversation.item.create", "conversation.item.delete", "conversation.item.truncate",
         "conversation.item.retrieve", "response.create", "response.cancel"} | UNSUPPORTED
_ABSENT = object()


class ClientError(Exception):
    def __init__(self, message: str, code: str = "invalid_value", param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.param = code, param


@dataclass
class Said:
    """An answer the engine gave into the conversation: what it sent, and what the listener heard
    (a truncation keeps only the audio before `audio_end_ms` and the words spoken in it)."""
    item_id: str
    audio: bool
    audio_format: str
    status: str = "in_progress"
    transcript: str = ""            # the whole planned transcript
    sent: int = 0                   # characters of it sent as deltas so far
    pcm: list[np.ndarray] = dc_field(default_factory=list)   # 24 kHz pieces, in order
    samples: int = 0
    marks: list[tuple[int, int, int, int]] = dc_field(default_factory=list)  # (sample0, sample1, char0, char1)
    heard: tuple[int, int] | None = None   # (samples, characters) kept by a truncation
    tool_call: ToolCall | None = None

    def add_audio(self, pcm: np.ndarray) -> None:
        if self.heard is None:
            self.pcm.append(pcm)
            self.samples += len(pcm)

    def mark(self, sample0: int, sample1: int, char0: int, char1: int) -> None:
        if self.heard is None:
            self.marks.append((sample0, sample1, char0, char1))

    def chars_heard(self, samples: int) -> int:
        """Characters of the transcript spoken in the first `samples`, ending on a word boundary."""
        end = 0
        for s0, s1, c0, c1 in self.marks:
            if samples >= s1:
                end = c1
                continue
            if samples > s0:
                end = c0 + int((c1 - c0) * (samples - s0) / max(1, s1 - s0))
                cut = self.transcript.rfind(" ", c0, end + 1)
                end = cut if cut > c0 else c0
            break
        return end

    def truncate(self, samples: int) -> None:
        self.heard = (samples, self.chars_heard(samples))
        pcm = np.concatenate(self.pcm) if self.pcm else np.zeros(0, np.int16)
        self.pcm, self.samples = [pcm[:samples]], min(samples, len(pcm))

    def text(self) -> str:
        return self.transcript[:self.heard[1]].rstrip() if self.heard else self.transcript[:self.sent]

    def item(self, shape: Shape, with_audio: bool = False) -> dict[str, Any]:
        if self.tool_call is not None:
            c = self.tool_call
            return shape.function_call_item(self.item_id, self.status, c.call_id, c.name,
                                             c.arguments if self.status != "in_progress" else "")
        b64 = None
        if with_audio and self.audio and self.pcm:
            wire = to_wire(np.concatenate(self.pcm), self.audio_format)
            if len(wire) * 4 // 3 <= MAX_RETRIEVED_AUDIO:
                b64 = base64.b64encode(wire).decode("ascii")
        return shape.assistant_item(self.item_id, self.status, self.audio, self.text(), b64)


class TranslatorLike(Protocol):
    def can(self, source: str, target: str) -> bool: ...
    def translate(self, text: str, source: str, target: str) -> str: ...


class EngineHost(Protocol):
    """What a session needs from the engine that accepted it (`LocalEngine` is one)."""

    default_voice: str
    translator: TranslatorLike | None

    @property
    def translation_available(self) -> bool: ...
    def record(self, ev: dict[str, Any]) -> None: ...
    def keep_truth(self, response_id: str, truth: dict[str, Any]) -> None: ...


class EngineSession:
    def __init__(self, engine: EngineHost, ws, flavor: str, model: str, azure: bool = False) -> None:
        self.engine = engine
        self.ws = ws
        self.shape = Shape(flavor)
        self.config = SessionConfig(id=new_id("sess"), model=reported_model(model, self.shape.beta, azure),
                                    expires_at=int(time.time()) + SESSION_LIFETIME_S,
                                    voice=engine.default_voice,
                                    translation="available" if engine.translation_available else "unavailable")
        self.conversation_id = new_id("conv")
        self.items: dict[str, dict[str, Any] | Said] = {}
        self.order: list[str] = []
        self.tasks: dict[str, asyncio.Task] = {}
        self.active: ResponseState | None = None   # the response whose response.done is not sent yet
        self.responses_created = 0
        self.closed = False

    # --- plumbing ----------------------------------------------------------------------
    async def send(self, ev: dict[str, Any]) -> None:
        # every server event carries an event_id; added last when missing (clients read JSON by key)
        ev.setdefault("event_id", new_id("event"))
        self.engine.record(ev)
        await self.ws.send(json.dumps(ev, ensure_ascii=False))

    async def error(self, message: str, *, code: str, param: str | None = None,
                    client_event_id: str | None = None, kind: str = "invalid_request_error") -> None:
        await self.send(error_event(new_id("event"), message, code=code, kind=kind, param=param,
                                    client_event_id=client_event_id))

    async def refuse(self, message: str) -> None:
        """Turn the client away after the handshake: one error event, then a 'try again later' close."""
        try:
            await self.error(message, code="too_many_sessions", kind="rate_limit_error")
            await self.ws.close(1013, "too many sessions")
        except Exception:
            pass

    async def run(self) -> None:
        await self.send({"type": "session.created", "session": self.shape.session(self.config)})
        try:
            async for message in self.ws:
                await self.handle(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            for t in self.tasks.values():
                t.cancel()

    async def handle(self, message: str | bytes) -> None:
        try:
            ev = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            await self.error("The message is not valid JSON.", code="invalid_json")
            return
        if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
            await self.error("Each message must be a JSON object with a string 'type'.", code="invalid_event",
                             param="type")
            return
        kind, eid = ev["type"], ev.get("event_id")
        if not isinstance(eid, str) or len(eid) > MAX_NAME:   # echoed back: a string, and short
            eid = None
        if kind not in KNOWN:
            await self.error(f"Invalid value: '{_short(kind)}'. Supported values are: {', '.join(sorted(KNOWN))}.",
                             code="invalid_value", param="type", client_event_id=eid)
            return
        if kind in UNSUPPORTED:
            await self.error(f"'{kind}' is not supported by the Verbatim local engine (text in, audio out only).",
                             code="unsupported_event", param="type", client_event_id=eid)
            return
        try:
            await getattr(self, "on_" + kind.replace(".", "_"))(ev)
        except ClientError as exc:
            await self.error(str(exc), code=exc.code, param=exc.param, client_event_id=eid)
        except Exception as exc:   # a bad event the checks above missed answers an error, never a dropped session
            if isinstance(exc, ConnectionClosed):
                raise
            log.exception("local engine: %s failed", kind)
            await self.error(f"The server could not handle '{kind}'.", code="server_error", kind="server_error",
                             client_event_id=eid)

    # --- client events ------------------------------------------------------------------------
    async def on_session_update(self, ev: dict[str, Any]) -> None:
        s = ev.get("session")
        if not isinstance(s, dict):
            raise ClientError("Missing required parameter: 'session'.", "missing_required_parameter", "session")
        changes = self._session_changes(s)
        for name, value in changes.items():   # all checked: applied together, so a refused update changes nothing
            setattr(self.config, name, value)
        await self.send({"type": "session.updated", "session": self.shape.session(self.config)})

    def _session_changes(self, s: dict[str, Any]) -> dict[str, Any]:
        """Every field of a GA or beta session object, checked, as the changes to apply.
        Checked in the object's order of importance, so the first problem is the one reported."""
        beta = self.shape.beta
        _check_session_object(s, beta)
        audio = _audio_part(s, "session", "input")
        out = _audio_part(s, "session", "output")
        ch = _audio_changes(s, audio, out, beta)
        mods = _modalities(s.get("modalities", s.get("output_modalities")), "session.modalities")
        if mods is not None:
            ch["modalities"] = mods
        instructions = _instructions(s.get("instructions"), "session.instructions")
        if instructions is not None:
            ch["instructions"] = instructions
        if s.get("model") is not None:
            ch["model"] = _name(s["model"], "session.model")
        ch.update(_input_audio_settings(s, audio))
        if "tools" in s:
            ch["tools"] = _tools(s["tools"], "session.tools")
        limit_key = "max_response_output_tokens" if "max_response_output_tokens" in s else "max_output_tokens"
        if s.get(limit_key) is not None:
            ch["max_output_tokens"] = _max_tokens(s[limit_key], f"session.{limit_key}")
        for key in ("tool_choice", "temperature", "tracing", "truncation", "prompt", "include"):
            if key in s:
                ch[key] = s[key]
        if not beta:
            extra = dict(self.config.extra)
            extra.update({k: s[k] for k in ("reasoning", "parallel_tool_calls") if k in s})
            ch["extra"] = extra
        _sdk_check(_session_type(beta), {"type": "realtime"} | s if not beta else s, "session")
        return ch

    async def on_conversation_item_create(self, ev: dict[str, Any]) -> None:
        item = ev.get("item")
        if not isinstance(item, dict):
            raise ClientError("Missing required parameter: 'item'.", "missing_required_parameter", "item")
        stored = self._new_item(item, "item")
        item_id = item.get("id") or new_id("item")
        if not isinstance(item_id, str) or len(item_id) > 32:
            raise ClientError("Item ids are strings of at most 32 characters.", param="item.id")
        if item_id in self.items:
            raise ClientError(f"Item with id '{item_id}' already exists.", "item_already_exists", "item.id")
        after = ev.get("previous_item_id")
        if after is None:
            at = len(self.order)
        elif after == "root":
            at = 0
        elif isinstance(after, str) and after in self.items:
            at = self.order.index(after) + 1
        else:
            raise ClientError(f"Previous item with id '{_short(after)}' not found.", "item_not_found",
                              "previous_item_id")
        stored = {"id": item_id} | stored
        self.items[item_id] = stored
        self.order.insert(at, item_id)
        prev = self.order[at - 1] if at > 0 else None
        self._forget_oldest()
        await self._announce(stored, prev)

    def _new_item(self, item: dict[str, Any], where: str) -> dict[str, Any]:
        """A client item as stored and echoed: a message, or a tool call or its output."""
        kind = item.get("type")
        base = {"object": "realtime.item", "type": kind, "status": "completed"}
        if kind == "function_call_output":
            call_id = _name(item.get("call_id"), f"{where}.call_id")
            output = item.get("output")
            if not isinstance(output, str):
                raise ClientError("Missing required parameter: 'output' (a string).", "missing_required_parameter",
                                  f"{where}.output")
            if len(output) > MAX_TEXT:
                raise ClientError(f"The output is too long (more than {MAX_TEXT} characters).",
                                  "string_above_max_length", f"{where}.output")
            return base | {"call_id": call_id, "output": output}
        if kind == "function_call":
            name = _name(item.get("name"), f"{where}.name")
            args = item.get("arguments", "")
            if not isinstance(args, str) or len(args) > MAX_TEXT:
                raise ClientError("'arguments' is a JSON string.", param=f"{where}.arguments")
            call_id = _name(item.get("call_id") or new_id("call"), f"{where}.call_id")
            return base | {"call_id": call_id, "name": name, "arguments": args}
        text, role = _message_text(item, where)
        if role == "assistant":
            part = {"type": "text" if self.shape.beta else "output_text", "text": text}
        else:
            part = {"type": "input_text", "text": text}
        return base | {"role": role, "content": [part]}

    def _forget_oldest(self) -> None:
        while len(self.order) > MAX_ITEMS:
            del self.items[self.order.pop(0)]
        kept, newest = 0, True
        for item_id in reversed(self.order):   # the newest answer keeps its audio; older ones keep their transcript
            said = self.items[item_id]
            if isinstance(said, Said):
                kept += said.samples * 2
                if kept > MAX_KEPT_AUDIO and said.pcm and not newest:
                    said.pcm, said.samples = [], 0
                newest = False

    async def _announce(self, item: dict[str, Any], prev: str | None) -> None:
        if self.shape.beta:
            await self.send({"type": "conversation.item.created", "previous_item_id": prev, "item": item})
        else:
            await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
            if item.get("status") != "in_progress":
                await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": item})

    def _item_id(self, ev: dict[str, Any]) -> str:
        item_id = ev.get("item_id")
        if not isinstance(item_id, str):
            raise ClientError("Missing required parameter: 'item_id' (a string).", "missing_required_parameter",
                              "item_id")
        if item_id not in self.items:
            raise ClientError(f"Item with item_id '{_short(item_id)}' not found.", "item_not_found", "item_id")
        return item_id

    def _item(self, item_id: str, with_audio: bool = False) -> dict[str, Any]:
        it = self.items[item_id]
        return it.item(self.shape, with_audio) if isinstance(it, Said) else it

    async def on_conversation_item_delete(self, ev: dict[str, Any]) -> None:
        item_id = self._item_id(ev)
        del self.items[item_id]
        self.order.remove(item_id)
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def on_conversation_item_retrieve(self, ev: dict[str, Any]) -> None:
        item_id = self._item_id(ev)
        await self.send({"type": "conversation.item.retrieved", "item": self._item(item_id, with_audio=True)})

    async def on_conversation_item_truncate(self, ev: dict[str, Any]) -> None:
        item_id = self._item_id(ev)
        index, end_ms = ev.get("content_index", 0), ev.get("audio_end_ms")
        if not isinstance(index, int) or isinstance(index, bool) or index != 0:
            raise ClientError("Invalid value for 'content_index': answers have one content part, 0.",
                              param="content_index")
        if not isinstance(end_ms, int) or isinstance(end_ms, bool) or end_ms < 0:
            raise ClientError("Missing required parameter: 'audio_end_ms' (a whole number of milliseconds ≥ 0).",
                              "missing_required_parameter" if end_ms is None else "invalid_value", "audio_end_ms")
        said = self.items[item_id]
        if not isinstance(said, Said) or not said.audio or said.tool_call is not None:
            raise ClientError("Only model output audio messages can be truncated.", "unsupported_content_type",
                              "item_id")
        length_ms = said.samples * 1000 / OUTPUT_RATE
        if end_ms > math.ceil(length_ms):
            raise ClientError(f"Audio content of {int(length_ms)}ms is already shorter than {end_ms}ms.",
                              param="audio_end_ms")
        said.truncate(min(said.samples, round(end_ms * OUTPUT_RATE / 1000)))
        await self.send({"type": "conversation.item.truncated", "item_id": item_id, "content_index": 0,
                         "audio_end_ms": end_ms})

    async def on_response_cancel(self, ev: dict[str, Any]) -> None:
        rid = ev.get("response_id")
        active = self.active
        if active is None or (rid is not None and rid != active.id) or active.id not in self.tasks:
            raise ClientError("Cancellation failed: no active response found.", "response_cancel_not_active")
        self.tasks[active.id].cancel()

    async def on_response_create(self, ev: dict[str, Any]) -> None:
        params = ev.get("response") or {}
        if not isinstance(params, dict):
            raise ClientError("'response' must be an object.", param="response")
        conversation = params.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise ClientError(f"Invalid value: '{_short(conversation)}'. Supported values are: auto, none.",
                              param="response.conversation")
        meta = params.get("metadata") or {}
        if not isinstance(meta, dict) or len(meta) > 16 or not all(
                isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
                for k, v in meta.items()):
            raise ClientError("metadata holds at most 16 string pairs (keys ≤ 64, values ≤ 512 characters).",
                              param="response.metadata")
        try:
            fault = parse_fault(meta)
        except FaultError as exc:
            raise ClientError(str(exc), param="response.metadata.verbatim_fault") from exc
        _instructions(params.get("instructions"), "response.instructions")
        texts = self._input_texts(params)
        out = _audio_part(params, "response", "output")
        fmt = _format(params, out, "output_audio_format", "response", "output") or self.config.audio_format
        voice = _voice(params.get("voice") or out.get("voice"), "response.voice",
                       allow_custom=not self.shape.beta) or self.config.voice
        if not isinstance(voice, str):   # a custom voice: the engine speaks (and reports) its default voice
            voice = self.engine.default_voice
        mods = _modalities(params.get("modalities", params.get("output_modalities")), "response.modalities")
        audio = "audio" in (mods or self.config.modalities)
        tools = _tools(params["tools"], "response.tools") if params.get("tools") is not None else self.config.tools
        limit_key = "max_response_output_tokens" if "max_response_output_tokens" in params else "max_output_tokens"
        limit = (_max_tokens(params[limit_key], f"response.{limit_key}") if params.get(limit_key) is not None
                 else self.config.max_output_tokens)
        tool_choice = params.get("tool_choice", self.config.tool_choice)
        call = None
        if fault.call_tool is not None:
            call = _tool_call(fault.call_tool, tools, tool_choice)
        checked = {k: v for k, v in params.items() if k not in ("input", "metadata")}
        _sdk_check(_response_type(self.shape.beta), checked, "response")
        if self.active is not None:   # the real API answers one response at a time
            raise ClientError(f"Conversation already has an active response in progress: {self.active.id}. "
                              "Wait until the response is finished before creating a new one.",
                              "conversation_already_has_active_response")
        if self.responses_created >= MAX_RESPONSES:
            raise ClientError(f"This session has created its {MAX_RESPONSES} responses; open a new session.",
                              "session_response_limit_reached")
        if fault.error:
            await self.error(fault.error["message"], code=fault.error["code"], kind=fault.error["type"],
                             client_event_id=ev.get("event_id") if isinstance(ev.get("event_id"), str) else None)
            return
        r = ResponseState(id=new_id("resp"), item_id=new_id("item"), voice=voice, audio_format=fmt,
                          audio=audio and not fault.no_audio, metadata=dict(meta), speed=self.config.speed,
                          max_output_tokens=limit, temperature=_temperature(params, self.config.temperature),
                          conversation_id=self.conversation_id if conversation == "auto" else None,
                          tool_call=call)
        self.responses_created += 1
        self.active = r
        self.tasks[r.id] = asyncio.create_task(self._respond(r, texts, fault))

    def _input_texts(self, params: dict[str, Any]) -> list[str]:
        """What to answer, in order: every user message (and tool output) since the last answer."""
        inp = params.get("input")
        items: list[dict[str, Any] | Said] = []
        if inp is not None:
            if not isinstance(inp, list):
                raise ClientError("'response.input' must be a list.", param="response.input")
            if len(inp) > MAX_INPUT_ITEMS:
                raise ClientError(f"'response.input' holds at most {MAX_INPUT_ITEMS} items.",
                                  "array_above_max_length", "response.input")
            for i, it in enumerate(inp):
                if isinstance(it, dict) and it.get("type") == "item_reference":
                    ref_id = it.get("id")
                    ref = self.items.get(ref_id) if isinstance(ref_id, str) else None
                    if ref is None:
                        raise ClientError(f"Item with id '{_short(ref_id)}' not found.", "item_not_found",
                                          f"response.input[{i}].id")
                    items.append(ref)
                elif isinstance(it, dict) and it.get("type") in ("message", "function_call_output",
                                                                  "function_call"):
                    if it["type"] == "message" and "role" not in it:
                        it = it | {"role": "user"}
                    items.append(self._new_item(it, f"response.input[{i}]"))
                else:
                    raise ClientError("Input items are messages, tool calls and outputs, or item references.",
                                      param=f"response.input[{i}]")
        else:   # no input: the default conversation is the context, even for out-of-band responses
            items = [self.items[i] for i in self.order]
        last_answer = max((i for i, it in enumerate(items) if _is_answer(it)), default=-1)
        texts = [_item_text(it) for it in items[last_answer + 1:] if _item_text(it) is not None]
        if not texts:   # nothing new: answer the last user message again
            users = [_item_text(it) for it in items if isinstance(it, dict) and it.get("role") == "user"]
            if not users:
                raise ClientError("There is no user message to answer.", "missing_input", "response.input")
            texts = users[-1:]
        if not any(t.strip() for t in texts):
            raise ClientError("The user message is empty.", "empty_input", "response.input")
        return [t for t in texts if t.strip()]

    # --- answering ---------------------------------------------------------------------------------
    def _languages(self, meta: dict[str, str], text: str) -> tuple[str, str, str]:
        """(source, target, mode) from the request's metadata; an unnamed source is detected."""
        def lang(key: str, default: str) -> str:
            value = meta.get(key) or default
            if value == "auto":
                from app.core.langid import detect_text_language

                value = detect_text_language(text, "en")
            try:
                return get_language(value).code
            except UnknownLanguage as exc:
                raise ClientError(f"unknown language in metadata {key}", param=f"response.metadata.{key}") from exc
        source, target = lang("verbatim_source", "auto"), lang("verbatim_target", "en")
        mode = "read" if meta.get("verbatim_mode") == "read" else "translate"
        return source, target, mode

    async def _respond(self, r: ResponseState, texts: list[str], fault: Fault) -> None:
        truth: dict[str, Any] = {"response_id": r.id, "fault": fault.to_dict(), "sample_rate": OUTPUT_RATE,
                                 "audio_format": r.audio_format, "spoken": [], "complete": False}
        self.engine.keep_truth(r.id, truth)
        try:
            if r.tool_call is not None:
                await self._call_tool(r)
                truth["complete"] = True
                return
            joined = " ".join(t.strip() for t in texts)
            source, target, mode = await asyncio.to_thread(self._languages, r.metadata, joined)
            answers = [await self._answer_text(t, source, target, mode) for t in texts]
            transcript = " ".join(a[0] for a in answers if a[0])
            lang, translated = answers[0][1], all(a[2] for a in answers)
            transcript, cut = _cut(transcript, r.max_output_tokens)
            transcript, chunks = plan_speech(transcript, lang, fault)
            if fault.case:   # a seed case brings its own transcript, in its own language
                lang = seed_cases()[fault.case]["target_language"]
            r.transcript = transcript
            if any(k.startswith("verbatim_") for k in r.metadata):   # only Verbatim's own requests ask for it
                r.metadata.setdefault("verbatim_transcript_language", lang)
            truth.update(transcript=transcript, transcript_language=lang, translated=translated,
                         sentences=[{"index": i, "text": s.text, "char_start": s.start, "char_end": s.end}
                                    for i, s in enumerate(split_sentences(transcript))])
            r.input_tokens = len(joined) // 4 + 1
            await self._stream(r, transcript, chunks, fault, truth, cut)
        except asyncio.CancelledError:
            if not self.closed:
                r.status, r.status_details = "cancelled", {"type": "cancelled", "reason": "client_cancelled"}
                await self._finish(r)
        except ClientError as exc:
            await self.error(str(exc), code=exc.code, param=exc.param)
        except _Dropped:
            pass
        except Exception as exc:  # a TTS failure must reach the client as a failed response
            log.exception("local engine response failed")
            if not self.closed:
                r.status = "failed"
                r.status_details = {"type": "failed", "error": {"type": "server_error", "code": "engine_error",
                                                                "message": f"local engine: {exc}"}}
                try:
                    await self._finish(r)
                except Exception:
                    pass
        finally:
            self.tasks.pop(r.id, None)
            if self.active is r:
                self.active = None

    async def _answer_text(self, text: str, source: str, target: str, mode: str) -> tuple[str, str, bool]:
        if mode == "read":
            return text.strip(), target, False
        tr = self.engine.translator
        if source != target and tr is not None and tr.can(source, target):
            out = await asyncio.to_thread(tr.translate, text, source, target)
            return out.strip(), target, True
        # no translator: say the text back in its own language, and say so in the metadata
        return text.strip(), source, source == target

    async def _begin(self, r: ResponseState, said: Said) -> None:
        """response.created and the output item, which joins the conversation unless out of band."""
        await self.send({"type": "response.created", "response": self.shape.response(r)})
        r.started = True
        item = r.output_items(self.shape)[0]   # in progress: no content yet, as the service sends it
        await self.send({"type": "response.output_item.added", "response_id": r.id, "output_index": 0,
                         "item": item})
        if r.conversation_id is not None:
            prev = self.order[-1] if self.order else None
            self.items[said.item_id] = said
            self.order.append(said.item_id)
            self._forget_oldest()
            await self._announce(item, prev)

    async def _call_tool(self, r: ResponseState) -> None:
        """The fault option `call_tool`: answer with a function call, its arguments in pieces."""
        call = r.tool_call
        said = Said(r.item_id, audio=False, audio_format=r.audio_format, tool_call=call)
        r.said = said
        await self._begin(r, said)
        base = {"response_id": r.id, "item_id": r.item_id, "output_index": 0, "call_id": call.call_id}
        for i in range(0, len(call.arguments), 16):
            await self.send({"type": "response.function_call_arguments.delta", **base,
                             "delta": call.arguments[i:i + 16]})
            r.output_text_tokens += 1
        done = {"type": "response.function_call_arguments.done", **base, "arguments": call.arguments}
        if not self.shape.beta:
            done["name"] = call.name
        await self.send(done)
        r.status = "completed"
        await self._finish(r)

    async def _stream(self, r: ResponseState, transcript: str, chunks: list[Chunk], fault: Fault,
                      truth: dict[str, Any], cut: bool = False) -> None:
        base = {"response_id": r.id, "item_id": r.item_id, "output_index": 0, "content_index": 0}
        said = r.said = Said(r.item_id, r.audio, r.audio_format, transcript=transcript)
        await self._begin(r, said)
        part_type = "audio" if r.audio else "text"
        empty_part = {"type": part_type, "transcript": ""} if r.audio else {"type": "text", "text": ""}
        await self.send({"type": "response.content_part.added", **base, "part": empty_part})
        if fault.first_delay_ms:
            await asyncio.sleep(fault.first_delay_ms / 1000)
        v = _Voicing(random.Random(fault.seed))
        sentences = split_sentences(transcript)
        pos = 0
        for k, group in enumerate(_by_sentence(sentences, chunks)):
            end = sentences[k + 1].start if k + 1 < len(sentences) else len(transcript)
            start, pos = pos, end
            await self._send_text(r, base, said, transcript[start:end], fault)
            if r.audio:
                group_start = v.offset
                for c in group:
                    if c.text.strip():
                        await self._speak(r, base, said, c, fault, truth, v)
                said.mark(group_start, v.offset, start, end)
        if fault.drop_after_deltas is not None and v.deltas >= fault.drop_after_deltas:
            await self._drop(truth)
        truth["audio_samples"] = v.offset
        if cut:
            r.status, r.status_details = "incomplete", {"type": "incomplete", "reason": "max_output_tokens"}
        else:
            r.status = "completed"
        await self._content_done(r, base, transcript)
        await self._finish(r)
        truth["complete"] = True
        for b64 in v.held:   # deltas the seed says arrive after .done
            await self._audio_delta(base, b64)
            await self._pace(fault)

    async def _send_text(self, r: ResponseState, base: dict[str, Any], said: Said, piece: str, fault: Fault) -> None:
        for word in _text_deltas(piece):
            await self.send({"type": self.shape.transcript_delta if r.audio else self.shape.text_delta, **base,
                             "delta": word})
            said.sent += len(word)
            r.output_text_tokens += 1
            await self._pace(fault)

    async def _speak(self, r: ResponseState, base: dict[str, Any], said: Said, c: Chunk, fault: Fault,
                     truth: dict[str, Any], v: _Voicing) -> None:
        """Render one chunk and send it as audio deltas, holding back the last `late_deltas`."""
        pcm, spoken = await asyncio.to_thread(render, c, r.voice, v.offset, r.speed)
        v.offset = spoken.end_sample
        truth["spoken"].append(spoken.to_dict())
        if r.conversation_id is not None:   # only answers in the conversation are kept
            said.add_audio(pcm)
        wire = to_wire(pcm, r.audio_format)
        r.output_audio_tokens += max(1, int(len(pcm) / OUTPUT_RATE * 10))
        for piece_bytes in split_wire(wire, r.audio_format, 0.2 + (v.rng.random() * 0.1 if fault.seed else 0)):
            v.held.append(base64.b64encode(piece_bytes).decode("ascii"))
            if len(v.held) > fault.late_deltas:
                await self._audio_delta(base, v.held.pop(0))
                v.deltas += 1
                if fault.drop_after_deltas is not None and v.deltas >= fault.drop_after_deltas:
                    await self._drop(truth)
                await self._pace(fault)

    async def _content_done(self, r: ResponseState, base: dict[str, Any], transcript: str) -> None:
        shape = self.shape
        if r.audio:
            await self.send({"type": shape.audio_done, **base})
            await self.send({"type": shape.transcript_done, **base, "transcript": transcript})
            await self.send({"type": "response.content_part.done", **base,
                             "part": {"type": "audio", "transcript": transcript}})
        else:
            await self.send({"type": shape.text_done, **base, "text": transcript})
            await self.send({"type": "response.content_part.done", **base, "part": {"type": "text", "text": transcript}})

    async def _finish(self, r: ResponseState) -> None:
        if r.started:
            said = r.said
            if said is not None:
                said.status = r.item_status()
                self._forget_oldest()
            item = r.output_items(self.shape)[0]
            await self.send({"type": "response.output_item.done", "response_id": r.id, "output_index": 0,
                             "item": item})
            if r.conversation_id is not None and not self.shape.beta and said is not None \
                    and said.item_id in self.items:
                i = self.order.index(said.item_id)
                await self.send({"type": "conversation.item.done", "previous_item_id": self.order[i - 1] if i else None,
                                 "item": said.item(self.shape)})
        await self.send({"type": "response.done", "response": self.shape.response(r)})
        if self.active is r:
            self.active = None

    async def _audio_delta(self, base: dict[str, Any], b64: str) -> None:
        await self.send({"type": self.shape.audio_delta, **base, "delta": b64})

    async def _pace(self, fault: Fault) -> None:
        await asyncio.sleep(fault.delay_ms / 1000 if fault.delay_ms else 0)

    async def _drop(self, truth: dict[str, Any]) -> None:
        truth["dropped"] = True
        self.closed = True
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()     # no close frame: what a dead network looks like
        raise _Dropped()


class _Dropped(Exception):
    pass


def _short(value: Any, limit: int = 40) -> str:
    """A client value quoted in an error message: as text, and short."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class _Voicing:
    """The audio of one streamed response so far: samples spoken, deltas sent, deltas held back."""
    rng: random.Random
    offset: int = 0
    deltas: int = 0
    held: list[str] = dc_field(default_factory=list)


def _by_sentence(sentences: list, chunks: list[Chunk]) -> list[list[Chunk]]:
    """The chunks voicing each transcript sentence (a chunk with no sentence goes by its position)."""
    groups: list[list[Chunk]] = [[] for _ in sentences] or [[]]
    for j, c in enumerate(chunks):
        k = c.sentence if c.sentence is not None else min(j, len(groups) - 1)
        groups[min(k, len(groups) - 1)].append(c)
    return groups


def _check_session_object(s: dict[str, Any], beta: bool) -> None:
    if len(json.dumps(s, default=str)) > MAX_SESSION_JSON:
        raise ClientError(f"The session object is too large (at most {MAX_SESSION_JSON} bytes).",
                          "string_above_max_length", "session")
    if not beta and s.get("type", "realtime") != "realtime":
        raise ClientError(f"Invalid value: '{_short(s.get('type'))}'. The local engine opens 'realtime' "
                          "sessions only.", param="session.type")


def _audio_changes(s: dict[str, Any], audio: dict[str, Any], out: dict[str, Any], beta: bool) -> dict[str, Any]:
    """Formats, voice and speed: beta names at the top level, GA names under `audio`."""
    ch: dict[str, Any] = {}
    fmt = _format(s, out, "output_audio_format", "session", "output")
    if fmt is not None:
        ch["audio_format"] = fmt
    fmt = _format(s, audio, "input_audio_format", "session", "input")
    if fmt is not None:
        ch["input_format"] = fmt
    voice_param = "session.voice" if "voice" in s else "session.audio.output.voice"
    voice = _voice(s.get("voice", out.get("voice")), voice_param, allow_custom=not beta)
    if voice is not None:
        ch["voice"] = voice
    speed = s.get("speed", out.get("speed"))
    if speed is not None:
        ch["speed"] = _speed(speed, "session.speed" if "speed" in s else "session.audio.output.speed")
    return ch


def _input_audio_settings(s: dict[str, Any], audio: dict[str, Any]) -> dict[str, Any]:
    """Kept as given (the engine takes no audio input): the beta name wins over the GA one."""
    ch: dict[str, Any] = {}
    for attr, ga_value, beta_key in (("turn_detection", audio.get("turn_detection", _ABSENT), "turn_detection"),
                                     ("transcription", audio.get("transcription", _ABSENT),
                                      "input_audio_transcription"),
                                     ("noise_reduction", audio.get("noise_reduction", _ABSENT),
                                      "input_audio_noise_reduction")):
        value = s.get(beta_key, ga_value) if beta_key in s else ga_value
        if value is not _ABSENT:
            ch[attr] = value
    return ch


def _audio_part(params: dict[str, Any], where: str, side: str) -> dict[str, Any]:
    """`audio.input` or `audio.output` of a GA session or response ({} when absent)."""
    audio = params.get("audio")
    if audio is None:
        return {}
    if not isinstance(audio, dict):
        raise ClientError(f"'{where}.audio' must be an object.", param=f"{where}.audio")
    part = audio.get(side)
    if part is None:
        return {}
    if not isinstance(part, dict):
        raise ClientError(f"'{where}.audio.{side}' must be an object.", param=f"{where}.audio.{side}")
    return part


def _format(params: dict[str, Any], part: dict[str, Any], beta_key: str, where: str, side: str) -> str | None:
    """An audio format by its beta name or its GA object, as the beta name."""
    fmt = params.get(beta_key)
    param = f"{where}.{beta_key}"
    if part.get("format") is not None:
        fmt, param = format_from_ga(part["format"]), f"{where}.audio.{side}.format"
        if fmt is None:
            raise ClientError(f"Invalid value for '{param}'.", param=param)
        if fmt == "pcm16" and part["format"].get("rate", OUTPUT_RATE) != OUTPUT_RATE:
            raise ClientError("audio/pcm is 24000 Hz only.", param=f"{param}.rate")
    if fmt is not None and fmt not in FORMATS:
        raise ClientError(f"Invalid value: '{_short(fmt)}'. Supported values are: {', '.join(FORMATS)}.",
                          param=param)
    return fmt


def _voice(value: Any, param: str, allow_custom: bool = False) -> Any:
    """A voice name; a GA custom voice object {"id": …} is kept and echoed, and spoken with the
    engine's default voice (the engine has no custom voices)."""
    if value is None:
        return None
    if allow_custom and isinstance(value, dict):
        if set(value) != {"id"} or not isinstance(value["id"], str) or not value["id"] \
                or len(value["id"]) > MAX_NAME:
            raise ClientError(f"Invalid value for 'voice': a custom voice is {{\"id\": \"…\"}} with an id of at most "
                              f"{MAX_NAME} characters.", param=param)
        return dict(value)
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise ClientError(f"Invalid value for 'voice': a name of at most {MAX_NAME} characters"
                          + (" or a custom voice {\"id\": \"…\"}." if allow_custom else "."), param=param)
    return value


def _speed(value: Any, param: str) -> float:
    lo, hi = SPEED_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ClientError(f"Invalid value for 'speed': a number from {lo} to {hi}.", param=param)
    return float(value)


def _name(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise ClientError(f"Invalid value for '{param.rsplit('.', 1)[-1]}': a string of 1 to {MAX_NAME} characters.",
                          "invalid_value" if value is not None else "missing_required_parameter", param)
    return value


def _tools(value: Any, param: str) -> list[Any]:
    """Tool definitions, kept as given; the engine calls one only when a test asks (fault `call_tool`)."""
    if not isinstance(value, list):
        raise ClientError("'tools' must be a list.", param=param)
    if len(value) > MAX_TOOLS:
        raise ClientError(f"At most {MAX_TOOLS} tools.", "array_above_max_length", param)
    names = set()
    for i, tool in enumerate(value):
        if not isinstance(tool, dict):
            raise ClientError("Each tool is an object.", param=f"{param}[{i}]")
        if tool.get("type", "function") == "function":
            name = _name(tool.get("name"), f"{param}[{i}].name")
            if name in names:
                raise ClientError(f"Duplicate tool name '{name}'.", param=f"{param}[{i}].name")
            names.add(name)
    return value


def _max_tokens(value: Any, param: str) -> Any:
    if value == "inf":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
        raise ClientError("Invalid value for 'max_output_tokens': a whole number from 1 to 4096, or 'inf'.",
                          param=param)
    return value


def _temperature(params: dict[str, Any], default: float) -> float:
    t = params.get("temperature")
    return float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else default


def _tool_call(spec: dict[str, Any], tools: list[Any], tool_choice: Any) -> ToolCall:
    """The call a test asked for, to a function the session or the response defines."""
    defined = {t.get("name") for t in tools if isinstance(t, dict) and t.get("type", "function") == "function"}
    param = "response.metadata.verbatim_fault"
    if spec["name"] not in defined:
        raise ClientError(f"call_tool: no function tool named '{_short(spec['name'])}' is defined "
                          f"(defined: {', '.join(sorted(defined)) or 'none'}).", param=param)
    if tool_choice == "none":
        raise ClientError("call_tool: tool_choice is 'none'.", param=param)
    return ToolCall(call_id=new_id("call"), name=spec["name"], arguments=spec["arguments"])


def _cut(transcript: str, limit: Any) -> tuple[str, bool]:
    """`max_output_tokens` as the service applies it: the answer stops there (a word is about a token)."""
    if limit == "inf":
        return transcript, False
    words = _text_deltas(transcript)
    if len(words) <= limit:
        return transcript, False
    return "".join(words[:limit]).rstrip(), True


def _is_answer(item: Any) -> bool:
    if isinstance(item, Said):
        return True
    return item.get("role") == "assistant" or item.get("type") == "function_call"


def _item_text(item: Any) -> str | None:
    """The text an answer responds to: a user message, or the output of a tool."""
    if isinstance(item, Said):
        return None
    if item.get("type") == "function_call_output":
        return item.get("output")
    if item.get("role") == "user":
        return "".join(p.get("text") or "" for p in item.get("content") or [])
    return None


def _session_type(beta: bool) -> type:
    if beta:
        from openai.types.beta.realtime.session import Session

        return Session
    from openai.types.realtime import RealtimeSessionCreateRequest

    return RealtimeSessionCreateRequest


def _response_type(beta: bool) -> type:
    if beta:
        from openai.types.beta.realtime.response_create_event import Response

        return Response
    from openai.types.realtime import RealtimeResponseCreateParams

    return RealtimeResponseCreateParams


def _sdk_check(model: type, value: dict[str, Any], where: str) -> None:
    """The fields the engine only stores and echoes, checked against the openai SDK's own types,
    and a failure addressed to the field as the client wrote it."""
    import pydantic

    try:
        model.model_validate(value)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        path, node = where, value
        for part in err.get("loc", ()):
            if isinstance(node, dict) and part in node:
                path, node = f"{path}.{part}", node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                path, node = f"{path}[{part}]", node[part]
            else:
                break
        raise ClientError(f"Invalid value for '{path}': {err.get('msg', 'not valid')}.", param=path) from exc


def _modalities(value: Any, param: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or not value or not all(isinstance(m, str) for m in value)
            or not set(value) <= {"text", "audio"}):
        raise ClientError("Invalid modalities: use 'text' and/or 'audio'.", param=param)
    return ("text",) if value == ["text"] else ("text", "audio")


def _instructions(value: Any, param: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ClientError("'instructions' must be a string.", param=param)
    if len(value) > MAX_TEXT:
        raise ClientError(f"The instructions are too long ({len(value)} characters; at most {MAX_TEXT}).",
                          "string_above_max_length", param)
    return value


def _message_text(item: dict[str, Any], where: str, default_role: str | None = None) -> tuple[str, str]:
    """(text, role) of a message item, every part checked and the whole at most MAX_TEXT."""
    if item.get("type") != "message":
        raise ClientError("Only 'message' items are supported by the local engine.", param=f"{where}.type")
    role = item.get("role", default_role)
    if role not in ("user", "system", "assistant"):
        raise ClientError(f"Invalid value: '{_short(role)}'. Supported values are: user, system, assistant.",
                          param=f"{where}.role")
    content = item.get("content")
    if not isinstance(content, list) or not content:
        raise ClientError(f"Missing required parameter: '{where}.content'.", "missing_required_parameter",
                          f"{where}.content")
    texts, size = [], 0
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in ("input_text", "text", "output_text"):
            raise ClientError("Content parts must be text ('input_text').", param=f"{where}.content[{i}].type")
        t = part.get("text")
        if not isinstance(t, str):
            raise ClientError("Missing required parameter: 'text' (a string).", "missing_required_parameter",
                              f"{where}.content[{i}].text")
        size += len(t)
        if size > MAX_TEXT:
            raise ClientError(f"The text is too long (more than {MAX_TEXT} characters).",
                              "string_above_max_length", f"{where}.content")
        texts.append(t)
    return "".join(texts), role


def _text_deltas(text: str) -> list[str]:
    """Transcript deltas a word or so at a time, spaces kept, as servers send them."""
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " " and cur.strip():
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out
