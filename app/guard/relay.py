"""One client connection relayed to its upstream connection: the pumps both ways, the
outgoing queue with its gates, and each response's bookkeeping (repair lives in `repair`)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .records import GuardResponse, GuardSession, verdict_event
from .repair import Repairs, _Busy, _Hold
from .stream import StreamingCheck
from .tap import AUDIO_DELTA, CLOSING, SessionTap, TappedResponse

if TYPE_CHECKING:
    from .proxy import Guard

log = logging.getLogger(__name__)

MAX_QUEUED = 2000              # events queued behind a closed gate before Guard stops reading upstream
# Audio of a held response is never held: it belongs before the gate (late deltas get there in time).
# Everything else keeps its order behind the gate, so a clean answer arrives exactly as sent.
LIVE = AUDIO_DELTA


class _Gate:
    """A point in the outgoing queue that opens when its response's audio is right."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.task: asyncio.Task | None = None


class _Link(Repairs):
    """One client connection and its upstream connection."""

    def __init__(self, guard: Guard, client, upstream, session: GuardSession) -> None:
        self.guard = guard
        self.client = client
        self.upstream = upstream
        self.session = session
        self.tap = SessionTap(guard.response_bytes, guard.connection_bytes)
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
        self.last_event = asyncio.get_running_loop().time()

    async def run(self) -> None:
        flusher = asyncio.create_task(self._flush())
        up = asyncio.create_task(self._client_to_upstream())
        down = asyncio.create_task(self._upstream_to_client())
        idle = asyncio.create_task(self._idle())
        try:
            done, _ = await asyncio.wait({up, down, idle}, return_when=asyncio.FIRST_COMPLETED)
            if idle in done and not (up.done() or down.done()):
                reason = f"idle for {self.guard.idle_timeout:g} s"
                log.warning("guard: session %s closed: %s", self.session.id, reason)
                await asyncio.gather(self.client.close(1001, reason), self.upstream.close(1001, reason),
                                     return_exceptions=True)
            elif down in done:
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
            for t in (up, down, flusher, idle):
                t.cancel()
            for g in self.gates.values():
                if g.task is not None:
                    g.task.cancel()
            for c in self.checks.values():
                c.cancel()
            self.session.close_code = self.client.close_code
            self.tap.responses.clear()      # nothing of a closed connection is kept
            await asyncio.gather(up, down, flusher, idle, return_exceptions=True)

    # --- pumps ------------------------------------------------------------------------------------------
    async def _idle(self) -> None:
        """Returns once no event has passed either way for `idle_timeout` (pings do not count)."""
        loop = asyncio.get_running_loop()
        while (left := self.last_event + self.guard.idle_timeout - loop.time()) > 0:
            await asyncio.sleep(left)

    async def _client_to_upstream(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for msg in self.client:
                self.last_event = asyncio.get_running_loop().time()
                try:
                    readable = self.tap.client_message(msg)
                except Exception:    # a shape Guard cannot follow is the service's to judge
                    log.exception("guard: could not follow a client event; passed on unchanged")
                    readable = True
                if not readable:
                    await self._send(_invalid_json())    # as the service would; the session goes on
                    continue
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
                self.last_event = asyncio.get_running_loop().time()
                try:
                    ev = self.tap.server_message(msg)
                    if ev is not None:
                        self._after_event(ev)
                        if ev["type"] in AUDIO_DELTA:
                            self._spill(ev.get("response_id"))
                except Exception:    # a shape Guard cannot follow must not cost the app its session
                    log.exception("guard: could not follow an upstream event; passed on unchanged")
                    ev = None
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

        self.last_event = asyncio.get_running_loop().time()     # held events released count too
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
            self._spill(rid)
            return not resp.overflow     # this delta's bytes went with them (none are kept on overflow)
        return True

    def _spill(self, rid) -> None:
        """A response over its budget keeps no audio (all of it reaches the app; none is verified)."""
        resp = self.tap.responses.get(rid) if isinstance(rid, str) else None
        if resp is not None and resp.overflow and resp.audio and rid not in self.holds:
            resp.audio = bytearray()

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
        resp.audio = bytearray()       # the record has its own copy
        if gr.status != "incomplete":
            await self._judge(gr, resp.overflow_reason)
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

    async def _judge(self, gr: GuardResponse, overflow: str = "") -> None:
        """The full verdict on the upstream's audio, for the record; `overflow`: why none was kept."""
        if overflow:
            gr.error = f"too long to verify: {overflow}"
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


def _invalid_json() -> str:
    import json

    return json.dumps({"type": "error", "event_id": f"event_guard_{secrets.token_hex(8)}",
                       "error": {"type": "invalid_request_error", "code": "invalid_json", "param": None,
                                 "message": "The message is not valid JSON (nested too deeply).",
                                 "event_id": None}})
