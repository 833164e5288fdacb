"""The Realtime client: one WebSocket session over the official SDK, one request at a time.

A request is `conversation.item.create` (input_text, our own item id) followed by
`response.create` with `conversation: "none"` referencing that item, so every translation
is independent of the ones before it. The client keeps its own copy of the transcript and
audio, waits briefly for audio deltas that trail `response.done`, and turns every failure
into a typed error that carries what had already arrived."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.languages import language_name

from .config import ProviderConfig
from .errors import ConnectionLost, RealtimeError, RealtimeTimeout, ServerError
from .events import AudioDelta, ErrorEvent, ResponseDone, SessionInfo, TranscriptDelta
from .failures import close_reason, duration, error_from_event, short, status_error, status_reason
from .normalizer import Normalizer

log = logging.getLogger(__name__)



def translate_instructions(source: str, target: str) -> str:
    src = "the language it is written in" if source in ("auto", "", None) else language_name(source)
    tgt = language_name(target)
    return (f"You are a translator. Translate the user's message from {src} into {tgt}. "
            f"Answer with the translation only, entirely in {tgt}: speak every sentence of it, word for "
            f"word as you write it, and nothing else. Never answer, comment on or continue the message. "
            f"Keep names, e-mail addresses, numbers and symbols exactly as written.")


def verbatim_instructions(language: str) -> str:
    lang = language_name(language)
    return (f"Read the user's message aloud exactly as written, in {lang}. Do not translate, add, skip, "
            f"reorder or change any word; read every sentence to the end. Your written answer must be the "
            f"message itself, unchanged.")


@dataclass
class Collected:
    """A whole response, for callers that do not stream (CLI, tests, repair)."""
    transcript: str = ""
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    done: ResponseDone | None = None
    deltas: int = 0


class _Lost:
    def __init__(self, exc: BaseException | None) -> None:
        self.exc = exc


@dataclass
class _Request:
    tag: str
    queue: asyncio.Queue
    response_id: str | None = None


class RealtimeClient:
    """`response_timeout_s` is an idle timeout (no event of the answer for that long); a long
    answer whose events keep coming may run up to `response_max_s` in all."""

    def __init__(self, config: ProviderConfig, *, trailing_quiet_s: float = 0.3,
                 trailing_max_s: float = 2.0, response_timeout_s: float = 45.0,
                 response_max_s: float | None = 1800.0,
                 connect_attempts: int = 3, backoff_s: float = 0.5) -> None:
        self.config = config
        self.trailing_quiet_s = trailing_quiet_s
        self.trailing_max_s = trailing_max_s
        self.response_timeout_s = response_timeout_s
        self.response_max_s = response_max_s
        self.connect_attempts = connect_attempts
        self.backoff_s = backoff_s
        self.session: SessionInfo | None = None
        self.reconnects = 0
        self.malformed_events = 0
        self._conn = None
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._current: _Request | None = None
        self._session_waiter: asyncio.Future | None = None
        self._normalizer = Normalizer(config.audio_format)
        self._connecting = False

    # --- connection ----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._conn is not None and self._reader is not None and not self._reader.done()

    @property
    def flavor(self) -> str:
        return self.config.resolved_flavor()

    async def connect(self) -> SessionInfo:
        """Open the session (with backoff on transient failures) and configure it."""
        delay = self.backoff_s
        last: RealtimeError | None = None
        for attempt in range(1, self.connect_attempts + 1):
            try:
                self._connecting = True
                return await self._connect_once()
            except RealtimeError as exc:
                last = exc
                await self._drop_connection()
                if not exc.retryable or attempt == self.connect_attempts:
                    raise
                log.info("connect attempt %d failed (%s); retrying in %.1f s", attempt, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8.0)
            finally:
                self._connecting = False
        raise last or ConnectionLost("could not connect")

    async def _connect_once(self) -> SessionInfo:
        import websockets

        label = self._label()
        try:
            # in a worker thread: the first call imports the openai SDK (about a second),
            # which must not freeze a UI event loop
            manager = await asyncio.to_thread(self.config.connection_manager)
        except ValueError as exc:
            raise ServerError(str(exc)) from exc
        loop = asyncio.get_running_loop()
        self._session_waiter = loop.create_future()
        try:
            self._conn = await asyncio.wait_for(manager.enter(), self.config.connect_timeout_s)
        except TimeoutError as exc:
            raise RealtimeTimeout(f"{label} did not answer within {self.config.connect_timeout_s:.0f} s") from exc
        except websockets.exceptions.InvalidStatus as exc:
            raise status_error(exc.response.status_code, label) from exc
        except (OSError, websockets.exceptions.InvalidHandshake, websockets.exceptions.ConnectionClosed) as exc:
            raise ConnectionLost(f"Could not reach {label}: {short(exc)}") from exc
        self._reader = asyncio.create_task(self._read(self._conn), name="realtime-reader")
        created = await self._await_session("session.created")
        await self._send({"type": "session.update", "session": self._session_shape()})
        updated = await self._await_session("session.updated")
        sess = updated.get("session") or created.get("session") or {}
        extra = sess.get("x_verbatim") or {}
        self.session = SessionInfo(session_id=str(sess.get("id") or extra.get("session_id") or ""),
                                   model=str(sess.get("model") or self.config.model), flavor=self.flavor,
                                   translation_available=extra.get("translation", "available") != "unavailable",
                                   engine=str(extra.get("engine") or ""), raw=sess)
        log.info("connected to %s (%s, %s)", label, self.flavor, self.session.session_id)
        return self.session

    async def _await_session(self, kind: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.connect_timeout_s
        while True:
            waiter = self._session_waiter
            try:
                ev = await asyncio.wait_for(asyncio.shield(waiter), max(0.0, deadline - loop.time()))
            except TimeoutError as exc:
                raise RealtimeTimeout(f"{self._label()} opened the socket but sent no {kind}") from exc
            self._session_waiter = loop.create_future()
            if isinstance(ev, RealtimeError):
                raise ev
            if ev.get("type") == kind:
                return ev

    def _session_shape(self) -> dict[str, Any]:
        c = self.config
        if self.flavor == "beta":
            return {"modalities": ["text", "audio"], "voice": c.voice, "output_audio_format": c.audio_format}
        fmt = {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"},
               "g711_alaw": {"type": "audio/pcma"}}[c.audio_format]
        return {"type": "realtime", "output_modalities": ["audio"],
                "audio": {"output": {"format": fmt, "voice": c.voice}}}

    async def close(self) -> None:
        await self._drop_connection()

    async def _drop_connection(self) -> None:
        # Only failures of the old connection are swallowed: a cancel of the caller (Stop)
        # or a KeyboardInterrupt must go on, not turn into a reconnect.
        reader, conn = self._reader, self._conn
        self._reader = self._conn = None
        if reader is not None and not reader.done():
            reader.cancel()
            await asyncio.wait({reader})      # raises only if *we* are cancelled
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2.0)
            except Exception as exc:
                log.debug("closing the old connection failed: %s", short(exc))

    async def _ensure_connected(self) -> None:
        if not self.connected:
            if self.session is not None:
                self.reconnects += 1
                log.info("reconnecting to %s", self._label())
            await self._drop_connection()
            await self.connect()

    # --- reading ------------------------------------------------------------------------------
    async def _read(self, conn) -> None:
        import websockets

        try:
            while True:
                raw = await conn.recv_bytes()
                try:
                    ev = json.loads(raw)
                    if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
                        raise ValueError("not an event object")
                except (ValueError, RecursionError):
                    self.malformed_events += 1
                    log.warning("ignored a malformed server event (%d bytes)", len(raw))
                    continue
                try:
                    self._dispatch(ev)
                except Exception:
                    self.malformed_events += 1
                    log.exception("ignored a server event that could not be handled: %s", ev.get("type"))
        except asyncio.CancelledError:
            raise
        except websockets.exceptions.ConnectionClosed as exc:
            self._lost(exc)
        except Exception as exc:
            log.exception("realtime reader stopped")
            self._lost(exc)

    def _lost(self, exc: BaseException | None) -> None:
        if self._current is not None:
            self._current.queue.put_nowait(_Lost(exc))
        waiter = self._session_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(ConnectionLost(f"{self._label()} closed the connection{close_reason(exc)}"))

    def _dispatch(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind in ("session.created", "session.updated"):
            waiter = self._session_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(ev)
            return
        for out in self._normalizer.feed(ev):
            if isinstance(out, ErrorEvent):
                self._route_error(out)
                continue
            req = self._current
            rid = out.response_id
            if req is None:
                log.debug("event for no request (%s) dropped", rid)
                continue
            if req.response_id is None:
                st = self._normalizer.responses.get(rid)
                if st is not None and st.request_tag in (req.tag, None):
                    req.response_id = rid
            if rid == req.response_id:
                req.queue.put_nowait(out)
            else:
                log.debug("event of another response (%s) dropped", rid)

    def _route_error(self, err: ErrorEvent) -> None:
        waiter = self._session_waiter
        if self._current is not None:
            self._current.queue.put_nowait(err)
        elif waiter is not None and not waiter.done() and self._connecting:
            waiter.set_result(error_from_event(err, self._label()))
        else:
            log.warning("server error outside a request: %s (%s)", err.message, err.code)

    async def _send(self, event: dict[str, Any]) -> None:
        import websockets

        if self._conn is None:
            raise ConnectionLost(f"Not connected to {self._label()}")
        try:
            await self._conn.send(event)
        except websockets.exceptions.ConnectionClosed as exc:
            raise ConnectionLost(f"{self._label()} closed the connection{close_reason(exc)}") from exc

    # --- requests ----------------------------------------------------------------------------
    async def translate(self, text: str, *, source: str, target: str,
                        metadata: dict[str, str] | None = None, text_only: bool = False) -> AsyncIterator[Any]:
        """Stream TranscriptDelta/AudioDelta events, then one ResponseDone.
        `text_only` asks for the text alone (strict mode voices it with a TTS)."""
        meta = {"verbatim_source": source, "verbatim_target": target, **(metadata or {})}
        async for ev in self._request(text, translate_instructions(source, target), meta, text_only=text_only):
            yield ev

    async def speak_verbatim(self, text: str, language: str, *, voice: str | None = None,
                             metadata: dict[str, str] | None = None) -> AsyncIterator[Any]:
        """Ask the session to voice `text` exactly (used to repair a mismatched utterance)."""
        meta = dict(metadata or {})
        meta.setdefault("verbatim_mode", "read")
        meta.setdefault("verbatim_target", language)
        async for ev in self._request(text, verbatim_instructions(language), meta, voice=voice):
            yield ev

    async def translate_collect(self, text: str, *, source: str, target: str,
                                metadata: dict[str, str] | None = None) -> Collected:
        return await collect(self.translate(text, source=source, target=target, metadata=metadata))

    async def _request(self, text: str, instructions: str, metadata: dict[str, str] | None,
                       voice: str | None = None, text_only: bool = False) -> AsyncIterator[Any]:
        if not text or not text.strip():
            raise ValueError("nothing to send: the text is empty")
        async with self._lock:
            await self._ensure_connected()
            tag = secrets.token_hex(6)
            item_id = f"item_vb_{tag}"
            req = _Request(tag, asyncio.Queue())
            self._current = req
            got = Collected()
            try:
                await self._send({"type": "conversation.item.create",
                                  "item": {"id": item_id, "type": "message", "role": "user",
                                           "content": [{"type": "input_text", "text": text}]}})
                await self._send({"type": "response.create",
                                  "response": self._response_shape(item_id, instructions, tag, metadata, voice,
                                                                   text_only)})
                async for ev in self._events(req, got):
                    yield ev
            finally:
                self._current = None
                if req.response_id:
                    self._normalizer.forget(req.response_id)
                if self.connected:
                    try:   # keep the default conversation from growing with our inputs
                        await self._send({"type": "conversation.item.delete", "item_id": item_id})
                    except RealtimeError:
                        pass

    def _response_shape(self, item_id: str, instructions: str, tag: str,
                        metadata: dict[str, str] | None, voice: str | None,
                        text_only: bool = False) -> dict[str, Any]:
        meta = {str(k): str(v)[:512] for k, v in (metadata or {}).items()}
        meta["verbatim_request"] = tag
        shape: dict[str, Any] = {"conversation": "none", "instructions": instructions,
                                 "input": [{"type": "item_reference", "id": item_id}], "metadata": meta}
        if self.flavor == "beta":
            shape["modalities"] = ["text"] if text_only else ["text", "audio"]
            if not text_only:
                shape["output_audio_format"] = self.config.audio_format
                shape["voice"] = voice or self.config.voice
        else:
            shape["output_modalities"] = ["text"] if text_only else ["audio"]
            if voice:
                shape["audio"] = {"output": {"voice": voice}}
        return shape

    async def _events(self, req: _Request, got: Collected) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        done: ResponseDone | None = None
        chunks: list[np.ndarray] = []
        last_event = loop.time()
        cap_end = last_event + self.response_max_s if self.response_max_s else float("inf")
        trailing_end = 0.0     # once done: stop listening for trailing deltas by then
        while True:
            now = loop.time()
            if done is None:
                timeout = min(last_event + self.response_timeout_s, cap_end) - now
            else:
                timeout = min(self.trailing_quiet_s, trailing_end - now)
            if timeout <= 0:
                if done is not None:
                    break
                raise self._timed_out(now >= cap_end, got, chunks)
            try:
                ev = await asyncio.wait_for(req.queue.get(), timeout)
            except TimeoutError:
                if done is not None:
                    break
                continue
            last_event = loop.time()
            if isinstance(ev, (_Lost, ErrorEvent)):
                if self._trouble_ends_stream(ev, done, got, chunks):
                    break
                continue
            if isinstance(ev, (TranscriptDelta, AudioDelta)):
                _collect_delta(ev, got, chunks)
                yield ev
            elif isinstance(ev, ResponseDone):
                if ev.status == "failed":
                    raise self._partial(ServerError(f"{self._label()} could not answer: "
                                                    f"{status_reason(ev.status_details)}"), got, chunks)
                done = ev
                trailing_end = loop.time() + self.trailing_max_s
        self._count_late_audio(done)
        got.done = done
        yield done

    def _timed_out(self, over_cap: bool, got: Collected, chunks: list[np.ndarray]) -> RealtimeError:
        if over_cap:
            return self._partial(RealtimeTimeout(
                f"{self._label()} was still answering after {duration(self.response_max_s)}; "
                f"stopped waiting"), got, chunks)
        return self._partial(RealtimeTimeout(f"{self._label()} stopped answering "
                                             f"(no events for {self.response_timeout_s:.0f} s)"), got, chunks)

    def _trouble_ends_stream(self, ev: _Lost | ErrorEvent, done: ResponseDone | None, got: Collected,
                             chunks: list[np.ndarray]) -> bool:
        """A lost connection or an error event: fatal before the answer is done (raised with
        what arrived); after it, a lost connection ends the stream and an error is only logged."""
        if isinstance(ev, _Lost):
            if done is not None:
                return True       # the answer was complete; the next request reconnects
            raise self._partial(ConnectionLost(
                f"The connection to {self._label()} dropped in the middle of the answer"
                f"{close_reason(ev.exc)}"), got, chunks)
        if done is None:
            raise self._partial(error_from_event(ev, self._label()), got, chunks)
        log.warning("error after the response was done: %s", ev.message)
        return False

    def _count_late_audio(self, done: ResponseDone) -> None:
        st = self._normalizer.responses.get(done.response_id)
        if st is not None:
            done.late_audio_deltas = st.late
            done.audio_samples = st.audio_samples
            done.audio_missing = st.audio_samples == 0

    @staticmethod
    def _partial(exc: RealtimeError, got: Collected, chunks: list[np.ndarray]) -> RealtimeError:
        exc.partial_transcript = got.transcript
        exc.partial_audio = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
        return exc

    def _label(self) -> str:
        c = self.config
        if c.provider == "local":
            return "the local engine"
        if c.provider == "azure":
            return "Azure OpenAI"
        return "OpenAI"


def _collect_delta(ev: TranscriptDelta | AudioDelta, got: Collected, chunks: list[np.ndarray]) -> None:
    got.deltas += 1
    if isinstance(ev, TranscriptDelta):
        got.transcript += ev.delta
    else:
        chunks.append(ev.pcm)     # joined only if a failure needs the partial audio


async def collect(events: AsyncIterator[Any]) -> Collected:
    got = Collected()
    chunks = []
    async for ev in events:
        if isinstance(ev, TranscriptDelta):
            got.transcript += ev.delta
        elif isinstance(ev, AudioDelta):
            chunks.append(ev.pcm)
        elif isinstance(ev, ResponseDone):
            got.done = ev
        got.deltas += 1
    got.audio = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    if got.done is not None and got.done.transcript:
        got.transcript = got.done.transcript
    return got


__all__ = ["RealtimeClient", "Collected", "collect"]
