"""Guard's side of a client's handshake: who may connect, and the upstream connection opened
while the client waits, so the client sees the service's own answer (401, 404 …) as it was."""

from __future__ import annotations

import asyncio
import logging
import math
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

from app.core.net import is_local_origin
from app.diagnostics.logs import redact

from .clients import RETRY_AFTER_S
from .upstream import (
    client_key,
    error_body,
    http_response,
    is_realtime_path,
    mask_secrets,
    offered_subprotocols,
    upstream_headers,
    upstream_subprotocols,
)

log = logging.getLogger(__name__)

MAX_MESSAGE = 2 ** 24          # the service's own limit for one event is 15 MiB
HEALTH_PATH = "/verbatim/guard/health"


class Handshake:
    """The handshake half of `Guard` (its attributes: access, upstream, upstream_key, links …)."""

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
        if self.access.keys:
            address = str((connection.remote_address or ("?",))[0])
            wait_s = self.access.backoff.wait_s(address)
            if wait_s > 0:     # guessing: not even the right key is looked at until the wait is over
                return http_response(429, error_body("Too many wrong keys for Verbatim Guard; wait and try again.",
                                                     "too_many_attempts", "rate_limit_error"),
                                     headers=[("Retry-After", str(math.ceil(wait_s)))])
            if not self.access.key_ok(presented):
                self.access.backoff.failed(address)
                return http_response(401, error_body("Incorrect API key provided for Verbatim Guard.",
                                                     "invalid_api_key"))
            self.access.backoff.succeeded(address)
        if parts.path.rstrip("/") == HEALTH_PATH:
            return http_response(200, {"guard": "verbatim", "mode": self.mode, "repair": self.repair,
                                       "upstream": str(self.upstream), "sessions": len(self.links)})
        if not is_realtime_path(parts.path):
            return http_response(404, error_body(f"No such path {parts.path[:200]}: Guard forwards Realtime "
                                                 "connections (…/realtime).", "not_found"))
        client = self.clients.identify(presented, str((connection.remote_address or ("?",))[0]),
                                       headers.get_all("X-Forwarded-For"))
        refused = self.clients.admit(client)
        if refused == 503:
            return http_response(503, error_body("Guard is at its session limit; try again later.",
                                                 "too_many_sessions", "server_error"))
        if refused == 429:
            return http_response(429, error_body("Too many sessions from this client at once; close one and "
                                                 "try again.", "too_many_sessions", "rate_limit_error"),
                                 headers=[("Retry-After", str(RETRY_AFTER_S))])
        connection.guard_client = client     # counted until released, once (see `release_client`)
        replace = None
        if self.access.keys:
            if not self.upstream_key:
                release_client(self, connection)
                return http_response(503, error_body("Guard has no key for the service: store one in Verbatim's "
                                                     "settings.", "missing_upstream_key", "server_error"))
            replace = self.upstream_key
        url = self.upstream.url_for(parts.path, parts.query)
        try:
            upstream = await self._connect(url, upstream_headers(headers, replace_key=replace),
                                           upstream_subprotocols(offered, replace_key=replace),
                                           headers.get("User-Agent"))
        except _Refused as exc:
            release_client(self, connection)
            return exc.response
        except BaseException:      # cancelled with the client's handshake: the slot is not kept
            release_client(self, connection)
            raise
        connection.guard_upstream = upstream
        connection.guard_path = parts.path
        # a client that vanishes before its handler runs must not leave the upstream open
        asyncio.get_running_loop().call_later(self.open_timeout + 5, _close_unclaimed, self, connection)
        return None

    async def _connect(self, url: str, headers, subprotocols: list[str], user_agent: str | None):
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        try:
            return await _NoRedirects(url, additional_headers=headers, subprotocols=subprotocols or None,
                                      user_agent_header=user_agent, max_size=MAX_MESSAGE,
                                      open_timeout=self.upstream_timeout, close_timeout=5,
                                      ssl=self.upstream_ssl if url.startswith("wss:") else None, proxy=None)
        except InvalidStatus as exc:
            # the service's own refusal (a redirect too), passed on with any key it echoes masked;
            # no Location: the app is not sent elsewhere with its key either
            r = exc.response
            ctype = r.headers.get("Content-Type", "application/json")
            known = [self.upstream_key or "", *self.access.keys]
            reason = mask_secrets((r.reason_phrase or "").encode(), known).decode(errors="replace") or None
            raise _Refused(http_response(r.status_code, mask_secrets(bytes(r.body or b""), known), ctype,
                                         reason)) from None
        except (TimeoutError, OSError, InvalidHandshake) as exc:
            log.warning("guard: upstream %s unreachable: %s", self.upstream, redact(str(exc)))
            raise _Refused(http_response(502, error_body(f"Verbatim Guard could not reach {self.upstream}: "
                                                         f"{exc.__class__.__name__}", "upstream_unreachable",
                                                         "server_error"))) from None


class _Refused(Exception):
    def __init__(self, response) -> None:
        super().__init__("refused")
        self.response = response


def mirror_subprotocol(connection, offered):
    """Answer the client with the subprotocol the service chose for Guard."""
    up = getattr(connection, "guard_upstream", None)
    chosen = getattr(up, "subprotocol", None)
    return chosen if chosen in offered else None


def release_client(guard, connection) -> None:
    """The connection's slot goes back to its client (at most once)."""
    client = getattr(connection, "guard_client", None)
    if client is not None:
        connection.guard_client = None
        guard.clients.release(client)


def _close_unclaimed(guard, connection) -> None:
    up = getattr(connection, "guard_upstream", None)
    if up is not None:
        release_client(guard, connection)
        connection.guard_upstream = None
        asyncio.get_running_loop().create_task(up.close())


class _NoRedirects(connect):
    """websockets follows 3xx, to any origin, with the same headers: the service's key would go
    along (the client's, or the stored one). Guard passes the 3xx back instead."""

    def process_redirect(self, exc: Exception) -> Exception:
        return exc
