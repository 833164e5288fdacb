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

Parts: `handshake` (checks and the upstream connection), `relay` (one link's pumps and
queue), `repair` (verdicts and the audio that makes a response right).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from app.core.loopthread import LoopThread

from .clients import PER_CLIENT, Clients
from .handshake import MAX_MESSAGE, Handshake, mirror_subprotocol, release_client
from .records import GuardListener, GuardResponse, GuardSession, save_to_history
from .relay import _Link
from .repair import _Busy
from .tap import CONNECTION_BYTES, RESPONSE_BYTES
from .upstream import MIN_REMOTE_KEY, Access, Upstream, is_loopback

log = logging.getLogger(__name__)

MODES = ("observe", "repair")
# below the 10 s many clients allow for their own handshake, so they receive Guard's 502
UPSTREAM_TIMEOUT = 8.0
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 15 * 60.0    # Realtime sessions may legitimately sit idle for minutes


class GuardError(RuntimeError):
    """Guard cannot start as configured; the message is for the user."""


class Guard(Handshake):
    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0, mode: str = "observe",
                 api_keys: set[str] | None = None, upstream_key: str | None = None, ssl_context=None,
                 upstream_ssl=None, verifier=None, speech=None, history=None,
                 listener: GuardListener | None = None, language: str | None = None,
                 hold_timeout: float = 10.0, max_sessions: int = 100, max_pending: int = 32,
                 verify: bool = True, hold_audio: bool | None = None, keep_responses: int = 50,
                 verdict_events: bool = False, max_held_s: float = 12.0,
                 upstream_timeout: float = UPSTREAM_TIMEOUT, per_client: int = PER_CLIENT,
                 trusted_proxies=(), handshake_timeout: float = HANDSHAKE_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, response_bytes: int = RESPONSE_BYTES,
                 connection_bytes: int = CONNECTION_BYTES) -> None:
        if mode not in MODES:
            raise GuardError(f"mode must be one of {', '.join(MODES)}")
        keys = frozenset(k for k in (api_keys or ()) if k)
        if not keys and not is_loopback(host):
            raise GuardError(f"Guard listens on loopback only unless --api-key is given (not {host!r})")
        if not is_loopback(host) and any(len(k) < MIN_REMOTE_KEY for k in keys):
            raise GuardError(f"Guard's --api-key must be at least {MIN_REMOTE_KEY} characters when it listens "
                             f"beyond loopback (on {host}): others can guess a short one")
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
        self.upstream_timeout = upstream_timeout
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout   # no event either way for this long: the session is closed
        # repair holds each sentence until verified and replaces wrong ones (the default), or with
        # hold_audio=False streams live and only appends missing tail sentences (append-only)
        self.hold_audio = mode == "repair" and (hold_audio is None or bool(hold_audio))
        self.verdict_events = verdict_events   # send the app a `verbatim.verdict` event per response
        self.max_held_s = max_held_s      # unjudged audio held at most (then it streams live, unjudged)
        self.max_sessions = max_sessions
        self.max_pending = max_pending
        try:
            self.clients = Clients(max_sessions, per_client, trusted_proxies)
        except ValueError as exc:
            raise GuardError(f"--trusted-proxy: {exc}") from None
        self.sessions: dict[str, GuardSession] = {}
        # audio kept per response and per connection (wire bytes); the records below keep at most
        # `connection_bytes` of audio in all (the oldest go first)
        self.response_bytes, self.connection_bytes = response_bytes, connection_bytes
        # the latest, for a window or a test; each holds its audio (~0.3 MB for 7 s of pcm16)
        self.responses: deque[GuardResponse] = deque(maxlen=keep_responses)
        self.links: set[_Link] = set()
        self._pending = 0
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
    def open_timeout(self) -> float:
        """How long a client's handshake may take: a socket that never finishes one is dropped, but
        the handshake waits for the upstream's, and Guard's 502 must come before Guard gives up."""
        return max(self.handshake_timeout, self.upstream_timeout + 1)

    @property
    def audio_bytes(self) -> int:
        """Audio kept for the open responses of all connections."""
        return sum(link.tap.kept_bytes for link in self.links)

    @property
    def record_bytes(self) -> int:
        """Audio kept in `responses`, the latest records."""
        return sum(_nbytes(r.audio) + _nbytes(r.delivered_audio) for r in self.responses)

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
                                   select_subprotocol=mirror_subprotocol, max_size=MAX_MESSAGE,
                                   compression=None, ssl=self.ssl_context, close_timeout=5,
                                   open_timeout=self.open_timeout,
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

    async def _handle(self, ws) -> None:
        upstream = getattr(ws, "guard_upstream", None)
        if upstream is None:
            return
        ws.guard_upstream = None    # claimed
        try:
            await self._relay(ws, upstream)
        finally:
            release_client(self, ws)

    async def _relay(self, ws, upstream) -> None:
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
        while len(self.responses) > 1 and self.record_bytes > self.connection_bytes:
            self.responses.popleft()
        self._notify(self.listener.on_response, gr)

    @staticmethod
    def _notify(fn: Callable, arg: Any) -> None:
        try:
            fn(arg)
        except Exception:
            log.exception("guard listener failed")


def _nbytes(a) -> int:
    return 0 if a is None else int(a.nbytes)


def _warm_language_id() -> None:
    try:
        from app.core.langid import detect_text_language

        detect_text_language("Warming up the language detector.", "en")
    except Exception:
        pass

