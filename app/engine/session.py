"""One client connection to the local engine: validates client events and answers with
the event sequence a real Realtime server emits, in GA or beta naming."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed

from app.core.languages import UnknownLanguage, get_language
from app.text.segments import split_sentences

from .faults import Chunk, Fault, FaultError, parse_fault, plan_speech, seed_cases
from .protocol import ResponseState, SessionConfig, Shape, error_event, format_from_ga, new_id
from .speech import OUTPUT_RATE, render, split_wire, to_wire

if TYPE_CHECKING:
    from .server import LocalEngine

log = logging.getLogger(__name__)

MAX_TEXT = 20_000          # characters of any one text: a message, instructions
MAX_ITEMS = 256            # conversation items kept; the oldest are forgotten, as context truncation does
MAX_RESPONSES = 10_000     # responses one session may create
MAX_INPUT_ITEMS = 64       # inline items in one response.create
MAX_NAME = 64              # voices, ids and other short strings
FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")
UNSUPPORTED = {"input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
               "conversation.item.truncate", "output_audio_buffer.clear", "transcription_session.update"}
KNOWN = {"session.update", "conversation.item.create", "conversation.item.delete",
         "conversation.item.retrieve", "response.create", "response.cancel"} | UNSUPPORTED


class ClientError(Exception):
    def __init__(self, message: str, code: str = "invalid_value", param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.param = code, param


class EngineSession:
    def __init__(self, engine: "LocalEngine", ws, flavor: str, model: str) -> None:
        self.engine = engine
        self.ws = ws
        self.shape = Shape(flavor)
        self.config = SessionConfig(id=new_id("sess"), model=model, voice=engine.default_voice,
                                    translation="available" if engine.translation_available else "unavailable")
        self.items: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.tasks: dict[str, asyncio.Task] = {}
        self.active: ResponseState | None = None   # the response whose response.done is not sent yet
        self.responses_created = 0
        self.closed = False

    # --- plumbing ----------------------------------------------------------------------
    async def send(self, ev: dict[str, Any]) -> None:
        ev.setdefault("event_id", new_id("event"))
        # event_id first, as servers do; harmless either way
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
        c = self.config
        fmt = s.get("output_audio_format")
        audio_out = _audio_output(s, "session")
        if audio_out.get("format") is not None:
            fmt = format_from_ga(audio_out["format"])
            if fmt is None:
                raise ClientError("Invalid value for 'session.audio.output.format'.", param="session.audio.output.format")
        if fmt is not None:
            if fmt not in FORMATS:
                raise ClientError(f"Invalid value: '{_short(fmt)}'. Supported values are: {', '.join(FORMATS)}.",
                                  param="session.output_audio_format")
        voice = _voice(s.get("voice", audio_out.get("voice")), "session.voice")
        mods = _modalities(s.get("modalities", s.get("output_modalities")), "session.modalities")
        instructions = _instructions(s.get("instructions"), "session.instructions")
        # all checked: apply together, so a refused update changes nothing
        if fmt is not None:
            c.audio_format = fmt
        if voice is not None:
            c.voice = voice
        if mods is not None:
            c.modalities = mods
        if instructions is not None:
            c.instructions = instructions
        await self.send({"type": "session.updated", "session": self.shape.session(c)})

    async def on_conversation_item_create(self, ev: dict[str, Any]) -> None:
        item = ev.get("item")
        if not isinstance(item, dict):
            raise ClientError("Missing required parameter: 'item'.", "missing_required_parameter", "item")
        text, role = _message_text(item, "item")
        item_id = item.get("id") or new_id("item")
        if not isinstance(item_id, str) or len(item_id) > 32:
            raise ClientError("Item ids are strings of at most 32 characters.", param="item.id")
        if item_id in self.items:
            raise ClientError(f"Item with id '{item_id}' already exists.", "item_already_exists", "item.id")
        stored = self.shape.user_item(item_id, text)
        stored["role"] = role
        self.items[item_id] = stored
        prev = self.order[-1] if self.order else None
        self.order.append(item_id)
        while len(self.order) > MAX_ITEMS:
            del self.items[self.order.pop(0)]
        if self.shape.beta:
            await self.send({"type": "conversation.item.created", "previous_item_id": prev, "item": stored})
        else:
            await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": stored})
            await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": stored})

    def _item_id(self, ev: dict[str, Any]) -> str:
        item_id = ev.get("item_id")
        if not isinstance(item_id, str):
            raise ClientError("Missing required parameter: 'item_id' (a string).", "missing_required_parameter",
                              "item_id")
        if item_id not in self.items:
            raise ClientError(f"Item with item_id '{_short(item_id)}' not found.", "item_not_found", "item_id")
        return item_id

    async def on_conversation_item_delete(self, ev: dict[str, Any]) -> None:
        item_id = self._item_id(ev)
        del self.items[item_id]
        self.order.remove(item_id)
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def on_conversation_item_retrieve(self, ev: dict[str, Any]) -> None:
        item_id = self._item_id(ev)
        await self.send({"type": "conversation.item.retrieved", "item": self.items[item_id]})

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
        text = self._input_text(params, conversation)
        fmt = params.get("output_audio_format")
        audio_out = _audio_output(params, "response")
        if audio_out.get("format") is not None:
            fmt = format_from_ga(audio_out["format"])
            if fmt is None:
                raise ClientError("Invalid value for 'response.audio.output.format'.",
                                  param="response.audio.output.format")
        fmt = fmt or self.config.audio_format
        if fmt not in FORMATS:
            raise ClientError("Invalid output audio format.", param="response.output_audio_format")
        voice = _voice(params.get("voice") or audio_out.get("voice"), "response.voice") or self.config.voice
        mods = _modalities(params.get("modalities", params.get("output_modalities")), "response.modalities")
        audio = "audio" in (mods or self.config.modalities)
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
                          audio=audio and not fault.no_audio, metadata=dict(meta))
        self.responses_created += 1
        self.active = r
        self.tasks[r.id] = asyncio.create_task(self._respond(r, text, fault))

    def _input_text(self, params: dict[str, Any], conversation: str) -> str:
        inp = params.get("input")
        items: list[dict[str, Any]] = []
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
                elif isinstance(it, dict) and it.get("type") == "message":
                    text, role = _message_text(it, f"response.input[{i}]", "user")
                    items.append(self.shape.user_item("inline", text) | {"role": role})
                else:
                    raise ClientError("Input items are messages or item references.", param=f"response.input[{i}]")
        else:   # no input: the default conversation is the context, even for out-of-band responses
            items = [self.items[i] for i in self.order]
        users = [it for it in items if it.get("role", "user") == "user"]
        if not users:
            raise ClientError("There is no user message to answer.", "missing_input", "response.input")
        text = "".join(p["text"] for p in users[-1]["content"])
        if not text.strip():
            raise ClientError("The user message is empty.", "empty_input", "response.input")
        return text

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

    async def _respond(self, r: ResponseState, text: str, fault: Fault) -> None:
        truth: dict[str, Any] = {"response_id": r.id, "fault": fault.to_dict(), "sample_rate": OUTPUT_RATE,
                                 "audio_format": r.audio_format, "spoken": [], "complete": False}
        self.engine.keep_truth(r.id, truth)
        try:
            source, target, mode = await asyncio.to_thread(self._languages, r.metadata, text)
            transcript, lang, translated = await self._answer_text(text, source, target, mode)
            transcript, chunks = plan_speech(transcript, lang, fault)
            if fault.case:   # a seed case brings its own transcript, in its own language
                lang = seed_cases()[fault.case]["target_language"]
            r.transcript = transcript
            r.metadata.setdefault("verbatim_transcript_language", lang)
            truth.update(transcript=transcript, transcript_language=lang, translated=translated,
                         sentences=[{"index": i, "text": s.text, "char_start": s.start, "char_end": s.end}
                                    for i, s in enumerate(split_sentences(transcript))])
            r.input_tokens = len(text) // 4 + 1
            await self._stream(r, transcript, chunks, fault, truth)
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

    async def _stream(self, r: ResponseState, transcript: str, chunks: list[Chunk], fault: Fault,
                      truth: dict[str, Any]) -> None:
        shape = self.shape
        base = {"response_id": r.id, "item_id": r.item_id, "output_index": 0, "content_index": 0}
        await self.send({"type": "response.created", "response": shape.response(r)})
        r.started = True
        await self.send({"type": "response.output_item.added", "response_id": r.id, "output_index": 0,
                         "item": shape.assistant_item(r.item_id, "in_progress", r.audio, None)})
        part_type = "audio" if r.audio else "text"
        empty_part = {"type": part_type, "transcript": ""} if r.audio else {"type": "text", "text": ""}
        await self.send({"type": "response.content_part.added", **base, "part": empty_part})
        if fault.first_delay_ms:
            await asyncio.sleep(fault.first_delay_ms / 1000)
        rng = random.Random(fault.seed)
        sentences = split_sentences(transcript)
        by_sentence: list[list[Chunk]] = [[] for _ in sentences] or [[]]
        for j, c in enumerate(chunks):
            k = c.sentence if c.sentence is not None else min(j, len(by_sentence) - 1)
            by_sentence[min(k, len(by_sentence) - 1)].append(c)
        held: list[str] = []
        deltas = 0
        offset = 0
        pos = 0
        for k, group in enumerate(by_sentence):
            end = sentences[k + 1].start if k + 1 < len(sentences) else len(transcript)
            piece = transcript[pos:end]
            pos = end
            for word in _text_deltas(piece):
                await self.send({"type": shape.transcript_delta if r.audio else shape.text_delta, **base,
                                 "delta": word})
                r.output_text_tokens += 1
                await self._pace(fault)
            if not r.audio:
                continue
            for c in group:
                if not c.text.strip():
                    continue
                pcm, spoken = await asyncio.to_thread(render, c, r.voice, offset)
                offset = spoken.end_sample
                truth["spoken"].append(spoken.to_dict())
                wire = to_wire(pcm, r.audio_format)
                r.output_audio_tokens += max(1, int(len(pcm) / OUTPUT_RATE * 10))
                for piece_bytes in split_wire(wire, r.audio_format, 0.2 + (rng.random() * 0.1 if fault.seed else 0)):
                    b64 = base64.b64encode(piece_bytes).decode("ascii")
                    held.append(b64)
                    if len(held) > fault.late_deltas:
                        await self._audio_delta(r, base, held.pop(0))
                        deltas += 1
                        if fault.drop_after_deltas is not None and deltas >= fault.drop_after_deltas:
                            await self._drop(truth)
                        await self._pace(fault)
        if fault.drop_after_deltas is not None and deltas >= fault.drop_after_deltas:
            await self._drop(truth)
        truth["audio_samples"] = offset
        r.status = "completed"
        if r.audio:
            await self.send({"type": shape.audio_done, **base})
            await self.send({"type": shape.transcript_done, **base, "transcript": transcript})
            await self.send({"type": "response.content_part.done", **base,
                             "part": {"type": "audio", "transcript": transcript}})
        else:
            await self.send({"type": shape.text_done, **base, "text": transcript})
            await self.send({"type": "response.content_part.done", **base, "part": {"type": "text", "text": transcript}})
        await self._finish(r)
        truth["complete"] = True
        for b64 in held:   # deltas the seed says arrive after .done
            await self._audio_delta(r, base, b64)
            await self._pace(fault)

    async def _finish(self, r: ResponseState) -> None:
        if r.started:
            await self.send({"type": "response.output_item.done", "response_id": r.id, "output_index": 0,
                             "item": self.shape.assistant_item(
                                 r.item_id, "completed" if r.status == "completed" else "incomplete",
                                 r.audio, r.transcript or "")})
        await self.send({"type": "response.done", "response": self.shape.response(r)})
        if self.active is r:
            self.active = None

    async def _audio_delta(self, r: ResponseState, base: dict[str, Any], b64: str) -> None:
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


def _audio_output(params: dict[str, Any], where: str) -> dict[str, Any]:
    audio = params.get("audio")
    if audio is None:
        return {}
    if not isinstance(audio, dict):
        raise ClientError(f"'{where}.audio' must be an object.", param=f"{where}.audio")
    out = audio.get("output")
    if out is None:
        return {}
    if not isinstance(out, dict):
        raise ClientError(f"'{where}.audio.output' must be an object.", param=f"{where}.audio.output")
    return out


def _voice(value: Any, param: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise ClientError(f"Invalid value for 'voice': a name of at most {MAX_NAME} characters.", param=param)
    return value


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
