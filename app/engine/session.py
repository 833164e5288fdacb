"""One client connection to the local engine: validates client events and answers with
the event sequence a real Realtime server emits, in GA or beta naming."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed

from .answering import Answering
from .faults import FaultError, parse_fault
from .protocol import ResponseState, SessionConfig, Shape, error_event, new_id, reported_model
from .said import Said
from .speech import OUTPUT_RATE
from .validation import (
    MAX_NAME,
    MAX_TEXT,
    ClientError,
    _audio_changes,
    _audio_part,
    _check_session_object,
    _format,
    _input_audio_settings,
    _instructions,
    _max_tokens,
    _message_text,
    _modalities,
    _name,
    _response_type,
    _sdk_check,
    _session_type,
    _short,
    _temperature,
    _tool_call,
    _tools,
    _voice,
)

log = logging.getLogger(__name__)

MAX_ITEMS = 256            # conversation items kept; the oldest are forgotten, as context truncation does
MAX_RESPONSES = 10_000     # responses one session may create
MAX_INPUT_ITEMS = 64       # inline items in one response.create
# bytes of answer audio a session keeps for retrieve/truncate: older answers' audio is forgotten
# first, and an answer longer than the whole budget keeps none (its transcript stays)
MAX_KEPT_AUDIO = 64 << 20
SESSION_LIFETIME_S = 3600
UNSUPPORTED = {"input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
               "output_audio_buffer.clear", "transcription_session.update"}
KNOWN = {"session.update", "conversation.item.create", "conversation.item.delete", "conversation.item.truncate",
         "conversation.item.retrieve", "response.create", "response.cancel"} | UNSUPPORTED


class TranslatorLike(Protocol):
    def can(self, source: str, target: str) -> bool: ...
    def translate(self, text: str, source: str, target: str) -> str: ...


class EngineHost(Protocol):
    """What a session needs from the engine that accepted it (`LocalEngine` is one)."""

    default_voice: str
    translator: TranslatorLike | None
    idle_timeout: float

    @property
    def translation_available(self) -> bool: ...
    def record(self, ev: dict[str, Any]) -> None: ...
    def keep_truth(self, response_id: str, truth: dict[str, Any]) -> None: ...
    def seal_truth(self, session_id: str, response_id: str) -> None: ...


class EngineSession(Answering):
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
        self.last_event = time.monotonic()   # sent or received: what the idle timeout measures

    # --- plumbing ----------------------------------------------------------------------
    async def send(self, ev: dict[str, Any]) -> None:
        # every server event carries an event_id; added last when missing (clients read JSON by key)
        ev.setdefault("event_id", new_id("event"))
        self.last_event = time.monotonic()
        self.engine.record(ev)
        await self.ws.send(json.dumps(ev, ensure_ascii=False))

    async def error(self, message: str, *, code: str, param: str | None = None,
                    client_event_id: str | None = None, kind: str = "invalid_request_error") -> None:
        await self.send(error_event(new_id("event"), message, code=code, kind=kind, param=param,
                                    client_event_id=client_event_id))

    async def refuse(self, message: str, code: str = "too_many_sessions") -> None:
        """Turn the client away after the handshake: one error event, then a 'try again later' close."""
        try:
            await self.error(message, code=code, kind="rate_limit_error")
            await self.ws.close(1013, "too many sessions")
        except Exception:
            pass

    async def run(self) -> None:
        await self.send({"type": "session.created", "session": self.shape.session(self.config)})
        watchdog = asyncio.create_task(self._close_when_idle())
        try:
            async for message in self.ws:
                self.last_event = time.monotonic()
                await self.handle(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            watchdog.cancel()
            tasks = list(self.tasks.values())
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)   # their ground truth is sealed
            # nothing of a closed session is kept: its items and their audio go with it
            self.items.clear()
            self.order.clear()
            self.tasks.clear()
            self.active = None

    async def _close_when_idle(self) -> None:
        """Close a socket with no event in either direction for the engine's idle_timeout (pings do not count)."""
        limit = self.engine.idle_timeout
        while not self.closed:
            left = self.last_event + limit - time.monotonic()
            if left <= 0:
                await self.ws.close(1000, f"idle timeout: no event in either direction for {limit:g} s")
                return
            await asyncio.sleep(left)

    async def handle(self, message: str | bytes) -> None:
        try:
            ev = json.loads(message)
        except (ValueError, UnicodeDecodeError, RecursionError):   # RecursionError: nested too deep
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
        kept = 0
        for item_id in reversed(self.order):   # newest first: older answers keep only their transcript
            said = self.items[item_id]
            if isinstance(said, Said):
                kept += said.samples * 2
                if kept > MAX_KEPT_AUDIO and said.pcm:   # the newest too, when it alone is past the budget
                    said.forget_audio()

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

