"""How a session answers one response: languages, translation, the planned speech, and the
event stream (text deltas, audio deltas, faults on demand) up to response.done."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from app.core.languages import UnknownLanguage, get_language
from app.text.segments import split_sentences

from .faults import Chunk, Fault, plan_speech, seed_cases
from .protocol import ResponseState
from .said import Said
from .speech import OUTPUT_RATE, render, split_wire, to_wire
from .validation import ClientError

log = logging.getLogger("app.engine.session")

SYNTHESIS_PIECE_CHARS = 600   # text rendered at once: a cancelled answer stops within one piece


class Answering:
    """The answering half of EngineSession (a mixin: it uses the session's send, items and tasks)."""

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
            self.engine.seal_truth(self.config.id, r.id)

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
        """Render one chunk and send it as audio deltas, holding back the last `late_deltas`.
        A long chunk is rendered a piece at a time, so a cancel stops its synthesis there."""
        record: dict[str, Any] | None = None   # one ground-truth record for the whole chunk
        for text in _synthesis_pieces(c.text):
            piece = c if text is c.text else Chunk(text, c.language, c.sentence)
            pcm, spoken = await asyncio.to_thread(render, piece, r.voice, v.offset, r.speed)
            v.offset = spoken.end_sample
            if record is None:
                record = spoken.to_dict() | {"text": c.text}
                truth["spoken"].append(record)
            else:
                record.update(end_sample=spoken.end_sample, end_s=spoken.end_s)
            if r.conversation_id is not None:   # only answers in the conversation are kept
                said.add_audio(pcm)
                self._forget_oldest()
            await self._send_audio(r, base, pcm, fault, truth, v)

    async def _send_audio(self, r: ResponseState, base: dict[str, Any], pcm, fault: Fault,
                          truth: dict[str, Any], v: _Voicing) -> None:
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



def _cut(transcript: str, limit: Any) -> tuple[str, bool]:
    """`max_output_tokens` as the service applies it: the answer stops there (a word is about a token)."""
    if limit == "inf":
        return transcript, False
    words = _text_deltas(transcript)
    if len(words) <= limit:
        return transcript, False
    return "".join(words[:limit]).rstrip(), True



def _synthesis_pieces(text: str) -> list[str]:
    """`text` in pieces of at most about SYNTHESIS_PIECE_CHARS, cut after a space (one piece: `text` itself)."""
    if len(text) <= SYNTHESIS_PIECE_CHARS:
        return [text]
    pieces, start = [], 0
    while len(text) - start > SYNTHESIS_PIECE_CHARS:
        cut = text.rfind(" ", start + SYNTHESIS_PIECE_CHARS // 2, start + SYNTHESIS_PIECE_CHARS)
        cut = cut + 1 if cut > start else start + SYNTHESIS_PIECE_CHARS
        if text[start:cut].strip():
            pieces.append(text[start:cut].strip())
        start = cut
    if text[start:].strip():
        pieces.append(text[start:].strip())
    return pieces


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
