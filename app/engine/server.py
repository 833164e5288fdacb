"""The embedded local engine: a Realtime-protocol WebSocket server on 127.0.0.1.

Paths (the shape follows from path and headers, as with the real services):
  /v1/realtime?model=…                 GA  (beta with header `OpenAI-Beta: realtime=v1`)
  /openai/v1/realtime?model=…          GA, Azure v1 style
  /openai/realtime?api-version=…&deployment=…   beta, Azure legacy style
  GET /verbatim/health                 JSON: engine, translation, voices
  GET /verbatim/ground-truth/<id>      JSON: what the engine really spoke for a response
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from app.core.loopthread import LoopThread

from .session import EngineSession
from .translator import Translator

log = logging.getLogger(__name__)

MAX_TRUTH = 500   # responses whose ground truth is kept


class LocalEngine:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, default_voice: str = "alloy",
                 translator: Translator | None | str = "auto", api_keys: set[str] | None = None,
                 record_events: bool = False, ssl_context=None) -> None:
        self.host = host
        self.ssl_context = ssl_context   # wss:// for clients that insist on TLS (the npm SDK)
        self.port = port
        self.default_voice = default_voice
        self.translator = Translator() if translator == "auto" else translator
        self.api_keys = api_keys
        self.record_events = record_events
        self.events: list[dict[str, Any]] = []
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        self.truth: dict[str, dict[str, Any]] = {}
        self.sessions: set[EngineSession] = set()
        self._server = None
        self._runner = LoopThread("verbatim-engine")

    # --- facts ---------------------------------------------------------------------------
    @property
    def translation_available(self) -> bool:
        return self.translator is not None and self.translator.available

    @property
    def url(self) -> str:
        """The websocket base URL clients pass as `websocket_base_url`."""
        return f"{'wss' if self.ssl_context else 'ws'}://{self.host}:{self.port}/v1"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def ground_truth(self, response_id: str) -> dict[str, Any] | None:
        return self.truth.get(response_id)

    def record(self, ev: dict[str, Any]) -> None:
        if self.record_events:
            self.events.append(json.loads(json.dumps(ev)))
        if self.on_event is not None:
            self.on_event(ev)

    def keep_truth(self, response_id: str, truth: dict[str, Any]) -> None:
        """Remember what a response really said; the oldest are forgotten past MAX_TRUTH."""
        self.truth[response_id] = truth
        while len(self.truth) > MAX_TRUTH:
            del self.truth[next(iter(self.truth))]

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> "LocalEngine":
        from websockets.asyncio.server import serve

        await asyncio.to_thread(self._warm)
        self._server = await serve(self._handle, self.host, self.port, process_request=self._process_request,
                                   max_size=2 ** 24, compression=None, ssl=self.ssl_context,
                                   close_timeout=2)
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

    async def __aenter__(self) -> "LocalEngine":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def start_in_thread(self) -> "LocalEngine":
        """Run on a private event loop so the UI's loop never waits on synthesis."""
        self._runner.start(self.start, self.stop, timeout=30)
        return self

    def stop_thread(self) -> None:
        self._runner.stop(10)

    # --- HTTP side: routing, auth, JSON endpoints ---------------------------------------------
    def _process_request(self, connection, request):
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/")
        query = parse_qs(parts.query)
        if path == "/verbatim/health":
            return _json(connection, 200, {"engine": "verbatim-local", "translation":
                                           "available" if self.translation_available else "unavailable",
                                           "url": self.url})
        if path.startswith("/verbatim/ground-truth/"):
            truth = self.truth.get(path.rsplit("/", 1)[-1])
            if truth is None:
                return _json(connection, 404, {"error": "unknown response id"})
            return _json(connection, 200, truth)
        if path not in ("/v1/realtime", "/realtime", "/openai/v1/realtime", "/openai/realtime"):
            return _json(connection, 404, {"error": {"message": f"no such path {path}", "code": "not_found"}})
        headers = request.headers
        key = headers.get("api-key") or ""
        auth = headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            key = key or auth[7:].strip()
        if not key or (self.api_keys is not None and key not in self.api_keys):
            return _json(connection, 401, {"error": {"message": "Incorrect API key provided.",
                                                     "code": "invalid_api_key", "type": "invalid_request_error"}})
        if path == "/openai/realtime":
            if not query.get("api-version") or not query.get("deployment"):
                return _json(connection, 400, {"error": {"message": "api-version and deployment are required",
                                                         "code": "missing_required_parameter"}})
            flavor, model = "beta", query["deployment"][0]
        else:
            beta = "realtime=v1" in (headers.get("OpenAI-Beta") or "")
            flavor, model = ("beta" if beta else "ga"), (query.get("model") or ["gpt-realtime"])[0]
        connection.verbatim = (flavor, model)
        return None

    async def _handle(self, ws) -> None:
        flavor, model = getattr(ws, "verbatim", ("ga", "gpt-realtime"))
        session = EngineSession(self, ws, flavor, model)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)


def _json(connection, status: int, body: dict[str, Any]):
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    data = json.dumps(body).encode()
    phrase = HTTPStatus(status).phrase
    return Response(status, phrase, Headers([("Content-Type", "application/json"),
                                             ("Content-Length", str(len(data)))]), data)
