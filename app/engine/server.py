"""The embedded local engine: a Realtime-protocol WebSocket server on 127.0.0.1.

Paths (the shape follows from path and headers, as with the real services):
  /v1/realtime?model=…                 GA  (beta with header `OpenAI-Beta: realtime=v1`)
  /openai/v1/realtime?model=…          GA, Azure v1 style
  /openai/realtime?api-version=…&deployment=…   beta, Azure legacy style
  GET /verbatim/health                 JSON: engine, translation, voices
  GET /verbatim/ground-truth/<id>      JSON: what the engine really spoke for a response

Who may talk to it (DESIGN.md, "who may talk to the local servers"): every endpoint needs
one of the engine's keys (a random one per run unless keys are given), as
`Authorization: Bearer`, an `api-key` header or query parameter (Azure clients), or the
`openai-insecure-api-key.<key>` subprotocol (browser clients); a request whose `Origin` is
a page elsewhere, or whose `Host` is not this server's address (DNS rebinding), is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.core.backoff import MIN_REMOTE_KEY, Backoff
from app.core.loopthread import LoopThread
from app.core.net import is_local_origin, is_loopback

from .session import EngineSession
from .translator import Translator
from .truth import MAX_TRUTH, TruthStore  # noqa: F401  (MAX_TRUTH: its old home)

log = logging.getLogger(__name__)

MAX_SESSIONS = 32  # open connections at once
MAX_SESSIONS_PER_CLIENT = 16   # of them for one client (the key it presents, or its address when keyless)
HANDSHAKE_TIMEOUT_S = 10       # a connection whose WebSocket handshake is not done by then is dropped
IDLE_TIMEOUT_S = 15 * 60       # no event either way for this long closes a session (they may idle for minutes)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SUBPROTOCOL_KEY = "openai-insecure-api-key."
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def client_host(host: str | None) -> str:
    """The address a client on this machine dials for a server bound to `host`, URL-ready."""
    host = (host or "").strip()
    if host in WILDCARD_HOSTS:
        host = "::1" if host == "::" else "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def new_api_key() -> str:
    return secrets.token_urlsafe(32)


class LocalEngine:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, default_voice: str = "alloy",
                 translator: Translator | None | str = "auto", api_keys: Iterable[str] | None = None,
                 record_events: bool = False, ssl_context=None, max_sessions: int = MAX_SESSIONS,
                 max_sessions_per_client: int = MAX_SESSIONS_PER_CLIENT,
                 handshake_timeout: float = HANDSHAKE_TIMEOUT_S, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.host = host
        self.ssl_context = ssl_context   # wss:// for clients that insist on TLS (the npm SDK)
        self.port = port
        self.default_voice = default_voice
        self.translator = Translator() if translator == "auto" else translator
        # no keys given: one random key for this run, which the embedding app hands its client
        keys = [api_keys] if isinstance(api_keys, str) else list(api_keys or ())
        if api_keys is not None and (not keys or not all(isinstance(k, str) and k for k in keys)):
            raise ValueError("api_keys must be non-empty strings")
        if not keys and not is_loopback(host):
            raise ValueError(f"binding {host!r} lets other machines connect: give api_keys")
        if not is_loopback(host) and any(len(k) < MIN_REMOTE_KEY for k in keys):
            raise ValueError(f"a key that guards {host!r} must be at least {MIN_REMOTE_KEY} characters")
        self.backoff = Backoff()      # wrong keys from one address: each further try waits longer
        self.api_key: str = keys[0] if keys else new_api_key()
        self._keys = tuple(k.encode("utf-8") for k in (keys or [self.api_key]))
        self.max_sessions = max_sessions
        self.max_sessions_per_client = max_sessions_per_client
        self.handshake_timeout, self.idle_timeout = handshake_timeout, idle_timeout
        self.per_client: dict[str, int] = {}   # open sessions by client
        self.record_events = record_events
        self.events: list[dict[str, Any]] = []
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        self.truth = TruthStore()   # ground truth within byte budgets (truth.py)
        self.sessions: set[EngineSession] = set()
        self._server = None
        self._runner = LoopThread("verbatim-engine")

    # --- facts ---------------------------------------------------------------------------
    @property
    def translation_available(self) -> bool:
        return self.translator is not None and self.translator.available

    @property
    def url(self) -> str:
        """The websocket base URL clients pass as `websocket_base_url` (never a wildcard address)."""
        return f"{'wss' if self.ssl_context else 'ws'}://{client_host(self.host)}:{self.port}/v1"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{client_host(self.host)}:{self.port}"

    def key_ok(self, key: str | None) -> bool:
        """Constant-time check against every key (no early exit that would time which one)."""
        if not key:
            return False
        given = key.encode("utf-8", "surrogatepass")
        ok = False
        for k in self._keys:
            ok |= hmac.compare_digest(k, given)
        return ok

    def ground_truth(self, response_id: str) -> dict[str, Any] | None:
        return self.truth.get(response_id)

    def record(self, ev: dict[str, Any]) -> None:
        if self.record_events:
            self.events.append(json.loads(json.dumps(ev)))
        if self.on_event is not None:
            self.on_event(ev)

    def keep_truth(self, response_id: str, truth: dict[str, Any]) -> None:
        """Remember what a response really said (a live record until it is sealed)."""
        self.truth.keep(response_id, truth)

    def seal_truth(self, session_id: str, response_id: str) -> None:
        """A response ended: its record now counts against the budgets (oldest dropped first)."""
        self.truth.seal(session_id, response_id)

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> LocalEngine:
        from websockets.asyncio.server import serve

        await asyncio.to_thread(self._warm)
        self._server = await serve(self._handle, self.host or None, self.port,
                                   process_request=self._process_request,
                                   select_subprotocol=_select_subprotocol,
                                   max_size=2 ** 24, compression=None, ssl=self.ssl_context,
                                   close_timeout=2, open_timeout=self.handshake_timeout)
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        log.info("local engine listening on %s (translation %s)", self.url,
                 "available" if self.translation_available else "unavailable")
        return self

    def _warm(self) -> None:
        """Load the voices once: the first synthesis is slower and (with espeak) a little different."""
        from app.tts import synthesize

        for voice in {"espeak", self.default_voice}:
            try:
                synthesize("Ready.", "en", voice)
            except Exception:  # a missing voice is reported when a request needs it
                log.warning("voice %s could not be loaded", voice, exc_info=True)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LocalEngine:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def start_in_thread(self) -> LocalEngine:
        """Run on a private event loop so the UI's loop never waits on synthesis."""
        self._runner.start(self.start, self.stop, timeout=30)
        return self

    def stop_thread(self) -> None:
        self._runner.stop(10)

    # --- HTTP side: routing, auth, JSON endpoints ---------------------------------------------
    def _host_ok(self, values: list[str]) -> bool:
        """Host header names this server: a loopback name, the bound address, or (bound to a
        wildcard address with a key) an IP literal or this machine's name. Never another domain."""
        if len(values) != 1 or not values[0].strip():
            return False
        value = values[0].strip().lower()
        if value.startswith("["):
            name = value[1:value.find("]")] if "]" in value else value
        else:
            name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
        name = name.rstrip(".")
        if name in LOOPBACK_NAMES or is_loopback(name):
            return True
        bound = (self.host or "").strip().strip("[]").lower().rstrip(".")
        if name == bound:
            return True
        if bound in WILDCARD_HOSTS:
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return name in {socket.gethostname().lower(), socket.getfqdn().lower()}
        return False

    @staticmethod
    def _offered_keys(headers, query: dict[str, list[str]]) -> list[str]:
        """Every place a client SDK puts the key; the request passes when one of them matches."""
        keys = []
        for auth in headers.get_all("Authorization"):
            if auth[:7].lower() == "bearer ":
                keys.append(auth[7:].strip())
        keys += [k.strip() for k in headers.get_all("api-key")]
        for value in headers.get_all("Sec-WebSocket-Protocol"):
            keys += [p.strip()[len(SUBPROTOCOL_KEY):] for p in value.split(",")
                     if p.strip().startswith(SUBPROTOCOL_KEY)]
        keys += query.get("api-key", [])   # the npm SDK's browser client for Azure puts it there
        return keys[:8]

    def _process_request(self, connection, request):
        headers = request.headers
        if not self._host_ok(headers.get_all("Host")):
            return _json(403, _error("This server answers only requests addressed to "
                                                 "its own address (Host).", "forbidden_host"))
        if not is_local_origin(headers.get_all("Origin")):
            return _json(403, _error("Requests from web pages elsewhere are refused (Origin).",
                                                 "forbidden_origin"))
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query)
        address = _peer(connection)
        wait_s = self.backoff.wait_s(address)
        if wait_s > 0:      # before the key is looked at: a guess made now tells nothing
            return _json(429, _error("Too many wrong API keys from this address; try again later.",
                                     "rate_limit_exceeded"), retry_after_s=wait_s)
        matched = [k for k in self._offered_keys(headers, query) if self.key_ok(k)]
        if not matched:
            self.backoff.failed(address)
            return _json(401, _error("Incorrect API key provided.", "invalid_api_key"))
        self.backoff.succeeded(address)
        if path == "/verbatim/health":
            return _json(200, {"engine": "verbatim-local", "translation":
                                           "available" if self.translation_available else "unavailable",
                                           "url": self.url})
        if path.startswith("/verbatim/ground-truth/"):
            truth = self.truth.get(path.rsplit("/", 1)[-1])
            if truth is None:
                return _json(404, {"error": "unknown response id"})
            return _json(200, truth)
        if path not in ("/v1/realtime", "/realtime", "/openai/v1/realtime", "/openai/realtime"):
            return _json(404, {"error": {"message": f"no such path {path[:200]}", "code": "not_found"}})
        client = _client_id(matched[0], connection)
        full = self._full(client)
        if full is not None:
            return _json(429, _error(*full, "rate_limit_error"))
        if path == "/openai/realtime":
            if not query.get("api-version") or not query.get("deployment"):
                return _json(400, {"error": {"message": "api-version and deployment are required",
                                                         "code": "missing_required_parameter"}})
            flavor, model = "beta", query["deployment"][0]
        else:
            beta = "realtime=v1" in " ".join(headers.get_all("OpenAI-Beta"))
            flavor, model = ("beta" if beta else "ga"), (query.get("model") or ["gpt-realtime"])[0]
        connection.verbatim = (flavor, model[:64], path.startswith("/openai"), client)
        return None

    def _full(self, client: str) -> tuple[str, str] | None:
        """Why a new session of `client` is refused (message, code), or None: each client has its own
        limit, so a client under it gets in as long as the server has room."""
        if self.per_client.get(client, 0) >= self.max_sessions_per_client:
            return (f"Too many sessions for this client (at most {self.max_sessions_per_client} at once); "
                    "close one first.", "too_many_sessions_for_client")
        if len(self.sessions) >= self.max_sessions:
            return f"Too many sessions (at most {self.max_sessions} at once).", "too_many_sessions"
        return None

    async def _handle(self, ws) -> None:
        flavor, model, azure, client = getattr(ws, "verbatim", ("ga", "gpt-realtime", False, "?"))
        session = EngineSession(self, ws, flavor, model, azure)
        full = self._full(client)
        if full is not None:   # handshakes that raced past the check above
            await session.refuse(*full)
            return
        self.sessions.add(session)
        self.per_client[client] = self.per_client.get(client, 0) + 1
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            self.per_client[client] -= 1
            if not self.per_client[client]:
                del self.per_client[client]


def _client_id(key: str | None, connection) -> str:
    """Who is asking, for the per-client limit: the key it presented (hashed), or its address."""
    if key:
        return "key:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return "addr:" + _peer(connection)


def _select_subprotocol(connection, offered):
    # Browser clients offer "realtime" plus the key as a subprotocol; answer with
    # "realtime" (never echo the key back). Clients that offer none get none.
    return "realtime" if "realtime" in offered else None


def _error(message: str, code: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "code": code, "type": kind}}


def _json(status: int, body: dict[str, Any], retry_after_s: float | None = None):
    import math

    from websockets.datastructures import Headers
    from websockets.http11 import Response

    data = json.dumps(body).encode()
    phrase = HTTPStatus(status).phrase
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if retry_after_s is not None:
        headers.append(("Retry-After", str(max(1, math.ceil(retry_after_s)))))
    return Response(status, phrase, Headers(headers), data)


def _peer(connection) -> str:
    peer = getattr(connection, "remote_address", None)
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"
