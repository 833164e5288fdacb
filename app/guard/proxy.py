"""Verbatim Guard: a verifying Realtime proxy on 127.0.0.1.

Each client connection gets its own upstream connection, opened while the client's
handshake is still pending so the client sees the service's own answer to it (401, 404 …).
Frames are forwarded both ways as they arrive, text and binary alike, the same message
objects, so observe mode is byte-identical. A tap reads every server event on the way.

Repair mode: a response's closing events (audio `.done`, `content_part.done`,
`output_item.done`, `response.done`) are held at a *gate* once the first of them arrives,
with every event after them in order; only that response's audio deltas keep flowing. When `response.done`
has arrived the audio is verified (off the loop); if its tail sentences were not spoken,
their audio is synthesized in the session's format and sent as extra audio deltas of the
same item, then the held events are released in their original order.
By default repair also holds the audio itself, sentence by sentence (`StreamingCheck`):
each is released once judged, as it was or spoken anew, so drifted spans are replaced;
`hold_audio=False` (append-only) lets the audio stream live and only appends.
Nothing waits without bound: a gate opens after `hold_timeout` whatever happens, the
queue behind it stops reading upstream when it is full, taps cap the audio they keep.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from app.audio.codecs import decode
from app.core.loopthread import LoopThread
from app.core.net import is_local_origin

from .mend import missing_tail, to_wire, wire_deltas
from .records import GuardListener, GuardResponse, GuardSession, save_to_history, verdict_event
from .stream import Settled, StreamingCheck, plan_steps
from .tap import AUDIO_DELTA, CLOSING, SessionTap, TappedResponse
from .upstream import (
    Access,
    Upstream,
    client_key,
    error_body,
    http_response,
    is_loopback,
    is_realtime_path,
    offered_subprotocols,
    upstream_headers,
    upstream_subprotocols,
)

log = logging.getLogger(__name__)

MODES = ("observe", "repair")
MAX_MESSAGE = 2 ** 24          # the service's own limit for one event is 15 MiB
MAX_QUEUED = 2000              # events queued behind a closed gate before Guard stops reading upstream
# Audio of a held response is never held: it belongs before the gate (late deltas get there in time).
# Everything else keeps its order behind the gate, so a clean answer arrives exactly as sent.
LIVE = AUDIO_DELTA
HEALTH_PATH = "/verbatim/guard/health"
CHARS_PER_S = 14.0     # typical speaking pace, until a response shows its own
SHORT_RATIO = 0.9      # audio shorter than this share of the expected length: probably cut off


class GuardError(RuntimeError):
    """Guard cannot start as configured; the message is for the user."""


class Guard:
    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0, mode: str = "observe",
                 api_keys: set[str] | None = None, upstream_key: str | None = None, ssl_context=None,
                 upstream_ssl=None, verifier=None, speech=None, history=None,
                 listener: GuardListener | None = None, language: str | None = None,
                 hold_timeout: float = 10.0, max_sessions: int = 100, max_pending: int = 32,
                 verify: bool = True, hold_audio: bool | None = None, keep_responses: int = 50,
                 verdict_events: bool = False, max_held_s: float = 12.0) -> None:
        if mode not in MODES:
            raise GuardError(f"mode must be one of {', '.join(MODES)}")
        keys = frozenset(k for k in (api_keys or ()) if k)
        if not keys and not is_loopback(host):
            raise GuardError(f"Guard listens on loopback only unless --api-key is given (not {host!r})")
        self.upstream = Upstream.parse(upstream)
        self.host, self.port, self.mode = host, port, mode
        self.access = Access(host, port, keys)
        self.upstream_key = upstream_key
        self.ssl_context, self.upstream_ssl = ssl_context, upstream_ssl
        self.verify_enabled = verify
        self.verifier = verifier
        self._own_verifier = False
        self.speech = speech
        self.history = history
        self.listener = listener or GuardListener()
        self.language = language
        self.hold_timeout = hold_timeout
        # repair holds each sentence until verified and replaces wrong ones (the default), or with
        # hold_audio=False streams live and only appends missing tail sentences (append-only)
        self.hold_audio = mode == "repair" and (hold_audio is None or bool(hold_audio))
        self.verdict_events = verdict_events   # send the app a `verbatim.verdict` event per response
        self.max_held_s = max_held_s      # unjudged audio held at most (then it streams live, unjudged)
        self.max_sessions = max_sessions
        self.max_pending = max_pending
        self.sessions: dict[str, GuardSession] = {}
        # the latest, for a window or a test; each holds its audio (~0.3 MB for 7 s of pcm16)
        self.responses: deque[GuardResponse] = deque(maxlen=keep_responses)
        self.links: set[_Link] = set()
        self._pending = 0
        self._opening = 0
        self._server = None
        self._runner = LoopThread("verbatim-guard")
        self._tasks: set[asyncio.Task] = set()

    # --- facts ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL an app uses instead of the service's (`websocket_base_url` and the like)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = self.upstream.base_path if not self.upstream.base_path.startswith("/openai") else ""
        return f"{'wss' if self.ssl_context else 'ws'}://{host}:{self.port}{base}"

    @property
    def repair(self) -> str | None:
        """How repair mode fixes audio: "replace" (held, drift replaced too) or "append" (live, tails only)."""
        if self.mode != "repair":
            return None
        return "replace" if self.hold_audio else "append"

    @property
    def http_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl_context else 'http'}://{host}:{self.port}"

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> Guard:
        from websockets.asyncio.server import serve

        if self.verify_enabled and self.verifier is None:
            from app.verify.worker import VerifierWorker

            self.verifier = VerifierWorker()
            self._own_verifier = True
        if self.verify_enabled:
            self.verifier.warm()
            asyncio.get_running_loop().run_in_executor(None, _warm_language_id)
        if self.mode == "repair" and self.speech is None:
            from app.repair.speech import LocalSpeech

            self.speech = LocalSpeech()
        self._server = await serve(self._handle, self.host, self.port, process_request=self._process_request,
                                   select_subprotocol=_mirror_subprotocol, max_size=MAX_MESSAGE,
                                   compression=None, ssl=self.ssl_context, close_timeout=5,
                                   server_header=None)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self.access.port = self.port
        log.info("guard (%s) listening on %s for %s", self.mode, self.url, self.upstream)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for t in list(self._tasks):
            t.cancel()
        if self._own_verifier and self.verifier is not None:
            self.verifier.close()

    async def __aenter__(self) -> Guard:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def start_in_thread(self) -> Guard:
        """Run on a private loop (the window's loop never waits on Guard)."""
        self._runner.start(self.start, self.stop, timeout=60)
        return self

    def stop_thread(self) -> None:
        self._runner.stop(15)

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- handshake: checks, then the upstream connection -------------------------------------------
    async def _process_request(self, connection, request):
        parts = urlsplit(request.path)
        headers = request.headers
        hosts, origins = headers.get_all("Host"), headers.get_all("Origin")
        if len(hosts) != 1 or not self.access.host_ok(hosts[0]):
            return http_response(403, error_body("Host not allowed.", "forbidden_host"))
        if not is_local_origin(origins):
            return http_response(403, error_body("Requests from web pages elsewhere are refused.", "forbidden_origin"))
        offered = offered_subprotocols(headers)
        presented = client_key(headers, offered)
        if not self.access.key_ok(presented):
            return http_response(401, error_body("Incorrect API key provided for Verbatim Guard.", "invalid_api_key"))
        if parts.path.rstrip("/") == HEALTH_PATH:
            return http_response(200, {"guard": "verbatim", "mode": self.mode, "repair": self.repair,
                                       "upstream": str(self.upstream), "sessions": len(self.links)})
        if not is_realtime_path(parts.path):
            return http_response(404, error_body(f"No such path {parts.path[:200]}: Guard forwards Realtime "
                                                 "connections (…/realtime).", "not_found"))
        if len(self.links) + self._opening >= self.max_sessions:
            return http_response(503, error_body("Guard is at its session limit; try again later.",
                                                 "too_many_sessions", "server_error"))
        replace = None
        if self.access.keys:
            if not self.upstream_key:
                return http_response(503, error_body("Guard has no key for the service: store one in Verbatim's "
                                                     "settings.", "missing_upstream_key", "server_error"))
            replace = self.upstream_key
        url = self.upstream.url_for(parts.path, parts.query)
        self._opening += 1
        try:
            upstream = await self._connect(url, upstream_headers(headers, replace_key=replace),
                                           upstream_subprotocols(offered, replace_key=replace),
                                           headers.get("User-Agent"))
        except _Refused as exc:
            return exc.response
        finally:
            self._opening -= 1
        connection.guard_upstream = upstream
        connection.guard_path = parts.path
        # a client that vanishes before its handler runs must not leave the upstream open
        asyncio.get_running_loop().call_later(30, _close_unclaimed, connection)
        return None

    async def _connect(self, url: str, headers, subprotocols: list[str], user_agent: str | None):
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        try:
            return await connect(url, additional_headers=headers, subprotocols=subprotocols or None,
                                 user_agent_header=user_agent, max_size=MAX_MESSAGE, open_timeout=15,
                                 close_timeout=5, ssl=self.upstream_ssl if url.startswith("wss:") else None,
                                 proxy=None)
        except InvalidStatus as exc:   # the service's own refusal, passed on as it was
            r = exc.response
            ctype = r.headers.get("Content-Type", "application/json")
            raise _Refused(http_response(r.status_code, r.body or b"", ctype, r.reason_phrase)) from None
        except (TimeoutError, OSError, InvalidHandshake) as exc:
            log.warning("guard: upstream %s unreachable: %s", self.upstream, exc)
            raise _Refused(http_response(502, error_body(f"Verbatim Guard could not reach {self.upstream}: "
                                                         f"{exc.__class__.__name__}", "upstream_unreachable",
                                                         "server_error"))) from None

    async def _handle(self, ws) -> None:
        upstream = getattr(ws, "guard_upstream", None)
        if upstream is None:
            return
        ws.guard_upstream = None    # claimed
        session = GuardSession(f"guard_{secrets.token_hex(6)}", getattr(ws, "guard_path", ""), str(self.upstream))
        link = _Link(self, ws, upstream, session)
        self.links.add(link)
        self.sessions[session.id] = session
        self._notify(self.listener.on_session_opened, session)
        try:
            await link.run()
        finally:
            self.links.discard(link)
            self.sessions.pop(session.id, None)
            session.closed_at = time.time()
            self._notify(self.listener.on_session_closed, session)

    # --- verdicts -----------------------------------------------------------------------------------
    async def verify(self, transcript: str, pcm: np.ndarray, rate: int, language: str | None = None):
        """The verifier's report, or None when there is nothing to check; _Busy past max_pending."""
        if not self.verify_enabled or not transcript.strip():
            return None
        if self._pending >= self.max_pending:
            raise _Busy()
        self._pending += 1
        try:
            lang = language or self.language
            if lang is None:
                from app.core.langid import detect_text_language

                lang = await asyncio.to_thread(detect_text_language, transcript, "en")
            return await asyncio.wrap_future(self.verifier.submit(transcript, pcm, rate, lang))
        finally:
            self._pending -= 1

    async def conclude(self, gr: GuardResponse) -> None:
        """Record a finished response: history (off the loop), then the listener."""
        if self.history is not None:
            gr.history_id = await asyncio.to_thread(save_to_history, self.history, gr, self.upstream.kind)
        self.responses.append(gr)
        self._notify(self.listener.on_response, gr)

    @staticmethod
    def _notify(fn: Callable, arg: Any) -> None:
        try:
            fn(arg)
        except Exception:
            log.exception("guard listener failed")


class _Refused(Exception):
    def __init__(self, response) -> None:
        super().__init__("refused")
        self.response = response


class _Busy(Exception):
    pass


def _mirror_subprotocol(connection, offered):
    """Answer the client with the subprotocol the service chose for Guard."""
    up = getattr(connection, "guard_upstream", None)
    chosen = getattr(up, "subprotocol", None)
    return chosen if chosen in offered else None


def _close_unclaimed(connection) -> None:
    up = getattr(connection, "guard_upstream", None)
    if up is not None:
        connection.guard_upstream = None
        asyncio.get_running_loop().create_task(up.close())


def _warm_language_id() -> None:
    try:
        from app.core.langid import detect_text_language

        detect_text_language("Warming up the language detector.", "en")
    except Exception:
        pass


@dataclass
class _Hold:
    """A response whose audio Guard holds until each sentence is verified."""
    released: int = 0                 # bytes of the original audio already released (or replaced)
    parts: list = field(default_factory=list)     # what the app received, decoded
    voiced: list[str] = field(default_factory=list)

    def add(self, wire: bytes, audio_format: str, voiced_text: str | None) -> None:
        if wire:
            self.parts.append(decode(wire, audio_format))
        if voiced_text:
            self.voiced.append(voiced_text)


class _Gate:
    """A point in the outgoing queue that opens when its response's audio is right."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.task: asyncio.Task | None = None


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, guard: Guard, client, upstream, session: GuardSession) -> None:
        self.guard = guard
        self.client = client
        self.upstream = upstream
        self.session = session
        self.tap = SessionTap()
        self.repair = guard.mode == "repair"
        self.out: deque = deque()        # messages and gates waiting behind a closed gate
        self.wake = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()
        self.gates: dict[str, _Gate] = {}
        self.done_events: dict[str, asyncio.Event] = {}
        self.checks: dict[str, StreamingCheck] = {}
        self.hold_audio = self.repair and guard.hold_audio and guard.verify_enabled
        self.holds: dict[str, _Hold] = {}
        self.unheld: set[str] = set()        # responses whose hold was given up
        self.upstream_gone = False

    async def run(self) -> None:
        flusher = asyncio.create_task(self._flush())
        up = asyncio.create_task(self._client_to_upstream())
        down = asyncio.create_task(self._upstream_to_client())
        try:
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            if down in done:
                # the service ended the connection: let what it already sent reach the app, then mirror
                self.upstream_gone = True
                for ev in self.done_events.values():
                    ev.set()
                for rid in [r for r in self.holds if r not in self.gates]:   # held audio the service sent
                    resp, hold = self.tap.responses.get(rid), self.holds.pop(rid)
                    if resp is not None:
                        for m in self._deltas(resp, self._keep(resp, hold, len(resp.audio))):
                            await self._send(m)
                try:
                    await asyncio.wait_for(self._drained(), self.guard.hold_timeout + 5)
                except TimeoutError:
                    log.warning("guard: held events not delivered before the close")
                up.cancel()
                await self._mirror_close(self.upstream, self.client)
            else:
                down.cancel()
                await self._mirror_close(self.client, self.upstream)
        finally:
            for t in (up, down, flusher):
                t.cancel()
            for g in self.gates.values():
                if g.task is not None:
                    g.task.cancel()
            for c in self.checks.values():
                c.cancel()
            self.session.close_code = self.client.close_code
            await asyncio.gather(up, down, flusher, return_exceptions=True)

    # --- pumps ------------------------------------------------------------------------------------------
    async def _client_to_upstream(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for msg in self.client:
                self.tap.client_message(msg)
                try:
                    await self.upstream.send(msg)
                except ConnectionClosed:
                    await asyncio.Event().wait()   # the service left: the other pump ends the link
        except ConnectionClosed:
            pass

    async def _upstream_to_client(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                msg = await self.upstream.recv()
                ev = self.tap.server_message(msg)
                if ev is not None:
                    self._after_event(ev)
                if self.repair and ev is not None:
                    if ev["type"] in AUDIO_DELTA:
                        self._stream_check(ev.get("response_id"))
                        if self.hold_audio and await self._held(ev.get("response_id")):
                            continue
                    rid = self._closing_rid(ev)
                    if rid is not None and rid not in self.gates:
                        self._open_gate(rid)
                    if self.out:
                        if ev["type"] in LIVE and ev.get("response_id") in self.gates:
                            await self._send(msg)
                        else:
                            self.out.append(msg)
                            self.wake.set()
                            if len(self.out) > MAX_QUEUED:   # back-pressure instead of an unbounded queue
                                self.room.clear()
                                await self.room.wait()
                        continue
                elif self.out:
                    self.out.append(msg)
                    self.wake.set()
                    continue
                await self._send(msg)
        except ConnectionClosed:
            pass

    async def _send(self, msg) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self.client.send(msg)
        except ConnectionClosed:
            pass     # the client pump notices and ends the link

    async def _flush(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.out:
                item = self.out[0]
                if isinstance(item, _Gate):
                    extra = await item.task
                    for m in extra:
                        await self._send(m)
                else:
                    await self._send(item)
                self.out.popleft()
                if len(self.out) <= MAX_QUEUED // 2:
                    self.room.set()

    async def _drained(self) -> None:
        while self.out:
            await asyncio.sleep(0.01)

    async def _mirror_close(self, closed, other) -> None:
        """The other side ends the way this side ended: same code and reason, or no close frame."""
        rcvd = getattr(closed.protocol, "close_rcvd", None)
        try:
            if rcvd is None:
                if closed is self.upstream and other.transport is not None:
                    other.transport.abort()      # a dropped socket stays a dropped socket
                else:
                    await other.close(1001, "client gone")
            elif rcvd.code == 1005:
                await other.close(None)   # type: ignore[arg-type]  # an empty close frame, as received
            else:
                await other.close(rcvd.code, rcvd.reason)
        except Exception:
            if other.transport is not None:
                other.transport.abort()

    # --- per-response bookkeeping -----------------------------------------------------------------------
    def _closing_rid(self, ev: dict[str, Any]) -> str | None:
        kind = ev["type"]
        if kind not in CLOSING:
            return None
        rid = ev["response"].get("id") if kind == "response.done" and isinstance(ev.get("response"), dict) \
            else ev.get("response_id")
        resp = self.tap.responses.get(rid) if isinstance(rid, str) else None
        return rid if resp is not None and resp.has_audio else None

    def _stream_check(self, rid) -> None:
        resp = self.tap.responses.get(rid) if isinstance(rid, str) else None
        if resp is None or rid in self.gates or rid in self.unheld or not self.guard.verify_enabled:
            return
        check = self.checks.get(rid)
        if check is None:
            check = self.checks[rid] = StreamingCheck(resp, self.guard.verify, hold=self.hold_audio)
            if self.hold_audio:
                self.holds[rid] = _Hold()
                check.on_steps = lambda steps, r=resp: self._release(r, steps)
        check.poke()

    async def _held(self, rid) -> bool:
        """True when this audio delta is held (its bytes are in the tap, released as sentences settle)."""
        hold = self.holds.get(rid) if isinstance(rid, str) else None
        resp = self.tap.responses.get(rid) if isinstance(rid, str) else None
        if hold is None or resp is None:
            return False
        unjudged_s = (len(resp.audio) - hold.released) / self._bps(resp) / resp.sample_rate
        if resp.overflow or unjudged_s > self.guard.max_held_s:
            # too long to hold (or the verifier cannot keep up): what is held goes now, later audio
            # passes through live and only a missing tail is still appended
            self.holds.pop(rid, None)
            check = self.checks.pop(rid, None)
            if check is not None:
                check.cancel()
            self.unheld.add(rid)
            for m in self._deltas(resp, self._keep(resp, hold, len(resp.audio))):
                await self._send(m)
            return not resp.overflow     # this delta's bytes went with them (none are kept on overflow)
        return True

    def _open_gate(self, rid: str) -> None:
        gate = _Gate(rid)
        self.gates[rid] = gate
        done = self.done_events.setdefault(rid, asyncio.Event())
        if self.tap.responses[rid].done:
            done.set()
        gate.task = asyncio.create_task(self._through_gate(rid))
        self.out.append(gate)
        self.wake.set()

    def _after_event(self, ev: dict[str, Any]) -> None:
        if ev["type"] == "response.done":
            r = ev.get("response") if isinstance(ev.get("response"), dict) else {}
            rid = r.get("id")
            resp = self.tap.responses.get(rid) if isinstance(rid, str) else None
            if resp is None:
                return
            if rid in self.done_events:
                self.done_events[rid].set()
            elif self.repair and not resp.has_audio:
                self.tap.forget(rid)
            if not self.repair:
                self.tap.forget(rid)
                if resp.has_audio:
                    self.guard.spawn(self._observe(resp))

    async def _observe(self, resp: TappedResponse) -> None:
        gr = self._record(resp)
        if gr.status != "incomplete":
            await self._judge(gr, resp.overflow)
        await self._conclude(gr)

    async def _conclude(self, gr: GuardResponse) -> None:
        """Record the response; with verdict events, tell the app too (after its own events)."""
        await self.guard.conclude(gr)
        if not self.guard.verdict_events or self.client.close_code is not None:
            return
        import json

        msg = json.dumps(verdict_event(gr, f"event_guard_{secrets.token_hex(8)}"), ensure_ascii=False)
        if self.out:
            self.out.append(msg)
            self.wake.set()
        else:
            await self._send(msg)

    def _record(self, resp: TappedResponse) -> GuardResponse:
        self.session.responses += 1
        timings = {"response_s": (resp.finished or time.monotonic()) - resp.started}
        if resp.response_id in self.unheld:
            self.unheld.discard(resp.response_id)
            timings["hold_given_up"] = 1.0
        return GuardResponse(self.session.id, resp.response_id, self.guard.mode, resp.transcript, resp.input_text,
                             resp.audio_format, resp.voice, resp.pcm(), resp.sample_rate, model=self.tap.model,
                             status="incomplete" if resp.status not in (None, "completed") else "unverified",
                             timings=timings)

    async def _judge(self, gr: GuardResponse, overflow: bool = False) -> None:
        """The full verdict on the upstream's audio, for the record."""
        if overflow:
            gr.error = "too long to verify"
            return
        t0 = time.monotonic()
        try:
            gr.report = await self.guard.verify(gr.transcript, gr.audio, gr.sample_rate)
        except _Busy:
            gr.error = "the verifier was busy"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("guard: verification failed: %s", exc)
            gr.error = f"verification failed: {exc}"
        gr.timings["verify_s"] = time.monotonic() - t0
        if gr.report is not None and gr.status != "incomplete":
            gr.status = gr.report.verdict

    async def _tail_verdict(self, resp: TappedResponse, gr: GuardResponse):
        """Verify what streaming verification has not settled: (report, its text, settled point)."""
        check = self.checks.pop(resp.response_id, None)
        settled, language = Settled(), None
        if check is not None:
            await check.finish()
            check.cancel()
            settled, language = check.settled, check.language
            gr.timings["stream_passes"] = check.passes
            gr.timings["settled_sentences"] = settled.sentences
        text = gr.transcript[settled.char:]
        report = await self.guard.verify(text, gr.audio[settled.sample:], gr.sample_rate, language)
        return report, text, settled

    async def _through_gate(self, rid: str) -> list[str]:
        """Runs while the gate is closed; returns the audio deltas to send before it."""
        resp = self.tap.responses.get(rid)
        if resp is None:
            return []
        t_gate = time.monotonic()
        extra: list[str] = []
        gr: GuardResponse | None = None
        error: str | None = None
        voiced = False
        try:
            async with asyncio.timeout(self.guard.hold_timeout):
                await self.done_events[rid].wait()
                self.tap.forget(rid)
                gr = self._record(resp)     # after response.done: the whole transcript and audio
                if resp.done and not self.upstream_gone and not resp.overflow and gr.status != "incomplete":
                    voiced = await self._decide(resp, gr, extra)
        except TimeoutError:
            log.warning("guard: response %s released unrepaired after %.1f s", rid, self.guard.hold_timeout)
            error = f"released unrepaired after {self.guard.hold_timeout:.0f} s"
        except _Busy:
            error = "the verifier was busy"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("guard: repair of %s failed", rid)
            error = f"repair failed: {exc}"
        finally:
            self.tap.forget(rid)
            check = self.checks.pop(rid, None)
            if check is not None:
                check.cancel()
        if gr is None:
            gr = self._record(resp)
        gr.error = gr.error or error
        if not resp.done:
            gr.status = "incomplete"
        hold = self.holds.pop(rid, None)
        if hold is not None:     # whatever happened, the app gets all the audio that is still held
            extra += self._deltas(resp, self._keep(resp, hold, len(resp.audio)))
            if hold.voiced:
                gr.delivered_audio = np.concatenate(hold.parts) if hold.parts else None
                gr.appended_text = " ".join(hold.voiced)
                voiced = True
        gr.timings["held_s"] = time.monotonic() - t_gate
        self.guard.spawn(self._after_repair(gr, voiced, resp.overflow))
        return extra

    async def _decide(self, resp: TappedResponse, gr: GuardResponse, extra: list[str]) -> bool:
        """The verdict on what is not settled yet, and the audio that makes it right (into `extra`)."""
        t0 = time.monotonic()
        hold = self.holds.get(resp.response_id)
        # the last sentence is what truncation usually loses: when the audio looks too short
        # for the transcript, voice it while the verdict is made (not otherwise: it costs CPU)
        guess = _last_sentence(gr.transcript) if self._looks_short(resp, gr) else ""
        early = asyncio.ensure_future(self._speak(guess, resp, gr)) if guess else None
        try:
            tail, tail_text, settled = await self._tail_verdict(resp, gr)
            gr.timings["verdict_s"] = time.monotonic() - t0
            if tail is None or tail.matches:
                return False
            if hold is not None and settled.char > 0 and not await self._wrong_in_context(gr, settled.char, tail):
                return False
            fix = missing_tail(tail, tail_text)
            flagged = tail.flagged_segments
            if fix is not None and (hold is None or all(s.char_end > fix.char_start for s in flagged)):
                # the end is missing (and, with audio the app already has, nothing else can change):
                # the audio stays, the missing words follow it
                pcm24 = await early if early is not None and fix.text == guess else \
                    await self._speak(fix.text, resp, gr, tail.language)
                if hold is not None:
                    extra += self._deltas(resp, self._keep(resp, hold, len(resp.audio)))
                wire = to_wire(pcm24, resp.audio_format)
                extra += self._deltas(resp, wire)
                if hold is not None:
                    hold.add(wire, resp.audio_format, fix.text)
                else:
                    gr.appended_text = fix.text
                    gr.delivered_audio = np.concatenate([gr.audio, decode(wire, resp.audio_format)])
                return True
            if hold is None or not flagged:
                return False     # drift in audio the app already has: recorded, not repaired
            # held audio, complete now: sentences followed by speech are kept or spoken anew one by one
            steps, next_char = plan_steps(tail, tail_text, settled.sample, resp.sample_rate, set(), confirm=False)
            for step in steps:
                extra += self._deltas(resp, await self._step_wire(resp, hold, step, tail.language))
            segs = tail.segments
            rest = [s for s in segs if s.char_start >= next_char]
            wrong = [s for s in rest if s.flagged]
            if not wrong:
                return bool(hold.voiced)
            # from the first wrong one of the rest on, everything is spoken anew
            first = wrong[0]
            cut = steps[-1].sample_end if steps else settled.sample
            if first.index > rest[0].index:
                prev = segs[first.index - 1]
                if prev.end_s is not None:
                    cut_s = (prev.end_s + first.start_s) / 2 if first.start_s is not None and \
                        first.start_s > prev.end_s else prev.end_s + 0.05
                    cut = settled.sample + int(cut_s * resp.sample_rate)
            extra += self._deltas(resp, self._keep(resp, hold, cut * self._bps(resp)))
            text = tail_text[first.char_start:].strip()
            wire = to_wire(await self._speak(text, resp, gr, tail.language), resp.audio_format)
            hold.released = len(resp.audio)     # the rest of the original is not used
            hold.add(wire, resp.audio_format, text)
            extra += self._deltas(resp, wire)
            return True
        finally:
            if early is not None and not early.done():
                early.cancel()

    async def _wrong_in_context(self, gr: GuardResponse, char: int, tail) -> bool:
        """A second opinion on held sentences the tail check flagged, from the whole answer.

        Whisper hears a sentence alone less well than with the ones before it ("and your"
        heard as "in your"): audio the app has not heard yet is replaced only when the whole
        answer's check agrees that something from `char` on is wrong. That report is the record's."""
        full = await self.guard.verify(gr.transcript, gr.audio, gr.sample_rate, tail.language)
        if full is None:
            return True
        gr.report = full
        return any(s.flagged and s.char_end > char for s in full.segments)

    # --- held audio (repair with hold): released sentence by sentence ----------------------------------
    @staticmethod
    def _bps(resp: TappedResponse) -> int:
        return 1 if resp.audio_format != "pcm16" else 2

    def _keep(self, resp: TappedResponse, hold: _Hold, upto: int) -> bytes:
        """The original audio from what was released up to byte `upto`, now released."""
        upto = min(upto - upto % self._bps(resp), len(resp.audio))
        if upto <= hold.released:
            return b""
        data = bytes(resp.audio[hold.released:upto])
        hold.released = upto
        hold.add(data, resp.audio_format, None)
        return data

    def _deltas(self, resp: TappedResponse, wire: bytes) -> list[str]:
        import json

        beta = bool(self.tap.beta)
        return [json.dumps(resp.delta_event(b64, f"event_guard_{secrets.token_hex(8)}", beta))
                for b64 in wire_deltas(wire, resp.audio_format)] if wire else []

    async def _release(self, resp: TappedResponse, steps: list) -> None:
        """Streaming verification settled these sentences: send their audio (or its replacement)."""
        hold = self.holds.get(resp.response_id)
        if hold is None:
            return
        check = self.checks.get(resp.response_id)
        for step in steps:
            wire = await self._step_wire(resp, hold, step, check.language if check is not None else None)
            for m in self._deltas(resp, wire):
                await self._send(m)

    async def _step_wire(self, resp: TappedResponse, hold: _Hold, step, language: str | None) -> bytes:
        if step.kind == "keep":
            return self._keep(resp, hold, step.sample_end * self._bps(resp))
        wire = to_wire(await self.guard.speech.speak(step.text, language or self.guard.language or "en", resp.voice),
                       resp.audio_format)
        hold.released = max(hold.released, step.sample_end * self._bps(resp))
        hold.add(wire, resp.audio_format, step.text)
        return wire

    def _looks_short(self, resp: TappedResponse, gr: GuardResponse) -> bool:
        """Less audio than this voice needs for the text, judging by its pace so far."""
        check = self.checks.get(resp.response_id)
        chars_per_s = CHARS_PER_S
        if check is not None and check.settled.sample > resp.sample_rate:
            chars_per_s = check.settled.char / (check.settled.sample / resp.sample_rate)
        audio_s = len(gr.audio) / resp.sample_rate
        return audio_s < SHORT_RATIO * len(gr.transcript) / chars_per_s

    async def _speak(self, text: str, resp: TappedResponse, gr: GuardResponse, language: str | None = None):
        if language is None:
            from app.core.langid import detect_text_language

            language = self.guard.language or await asyncio.to_thread(detect_text_language, gr.transcript, "en")
        return await self.guard.speech.speak(text, language, resp.voice)

    async def _after_repair(self, gr: GuardResponse, repaired: bool, overflow: bool) -> None:
        """The full verdicts for the record, once the app has its audio."""
        if gr.status != "incomplete" and gr.report is None:
            await self._judge(gr, overflow)
        elif gr.report is not None and gr.status != "incomplete":
            gr.status = gr.report.verdict
        if repaired and gr.delivered_audio is not None:
            try:
                gr.delivered_report = await self.guard.verify(gr.transcript, gr.delivered_audio, gr.sample_rate)
            except Exception as exc:   # the app already has the audio; only the record is poorer
                gr.error = f"the repaired audio could not be verified: {exc}"
            if gr.delivered_report is not None:
                gr.status = "repaired" if gr.delivered_report.matches else "mismatch"
        await self._conclude(gr)


def _last_sentence(transcript: str) -> str:
    from app.text.segments import split_sentences

    sentences = split_sentences(transcript)
    return transcript[sentences[-1].start:].strip() if len(sentences) > 1 else ""
