"""Where a client's connection goes upstream, with which headers, and who may connect at all.

Clients talk to Guard exactly as they would to the service: the same path
(`/v1/realtime?model=…`, Azure `/openai/realtime?api-version&deployment=…` or
`/openai/v1/realtime`), query, auth headers and subprotocols. Guard keeps the upstream's
scheme, host and base path and passes the rest on.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.core.backoff import MIN_REMOTE_KEY, Backoff  # noqa: F401  (their old home)
from app.core.net import is_local_origin, is_loopback

# Headers the service reads; everything else (Host, Origin, Cookie, Sec-*) stays with Guard.
FORWARD_HEADERS = ("authorization", "api-key", "openai-beta", "openai-organization", "openai-project")
KEY_SUBPROTOCOL = "openai-insecure-api-key."
MAX_PATH = 2048


class UpstreamError(ValueError):
    """A bad --upstream; the message is for the user."""


@dataclass(frozen=True)
class Upstream:
    scheme: str        # ws | wss
    netloc: str
    base_path: str     # "" or "/v1", "/openai", "/openai/v1" …

    @classmethod
    def parse(cls, url: str) -> Upstream:
        parts = urlsplit((url or "").strip())
        scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
        if scheme is None or not parts.hostname:
            raise UpstreamError(f"--upstream must be an http(s):// or ws(s):// URL, not {url!r}")
        if parts.query or parts.fragment:
            raise UpstreamError("--upstream is a base URL: leave out the query (the app sends its own)")
        base = parts.path.rstrip("/")
        if base.endswith("/realtime"):   # people paste the full endpoint; the base is what is meant
            base = base[: -len("/realtime")]
        return cls(scheme, parts.netloc, base)

    @property
    def kind(self) -> str:
        host = (urlsplit(f"x://{self.netloc}").hostname or "").lower()
        if host.endswith((".openai.azure.com", ".cognitiveservices.azure.com", ".azure.com")):
            return "azure"
        if host == "api.openai.com":
            return "openai"
        return "local" if is_loopback(host) else "other"

    def url_for(self, client_path: str, query: str) -> str:
        """The upstream URL for the path and query the client asked Guard for."""
        path = client_path.rstrip("/") or "/"
        base = self.base_path
        if path.startswith("/openai/") or not base or path == base + "/realtime" or path.startswith(base + "/"):
            target = path     # Azure paths, or the same base on both sides
        else:
            target = base + "/realtime"   # the client used another base (e.g. no /v1): keep the upstream's
        return urlunsplit((self.scheme, self.netloc, target, query, ""))

    def __str__(self) -> str:
        """For people (health, errors, logs): a user name or password in the URL is masked."""
        return urlunsplit((self.scheme, mask_userinfo(self.netloc), self.base_path, "", ""))


def mask_userinfo(netloc: str) -> str:
    return "***@" + netloc.rpartition("@")[2] if "@" in netloc else netloc


def is_realtime_path(path: str) -> bool:
    return path.rstrip("/").endswith("/realtime") and len(path) <= MAX_PATH


# --- who may connect ---------------------------------------------------------------------------
@dataclass
class Access:
    """Guard's own rules: loopback clients, or anyone holding one of Guard's keys."""
    host: str
    port: int = 0
    keys: frozenset[str] = field(default_factory=frozenset)
    backoff: Backoff = field(default_factory=lambda: Backoff())

    def host_ok(self, host_header: str | None) -> bool:
        """DNS rebinding: a page on evil.example resolving to 127.0.0.1 still says Host: evil.example."""
        if not host_header:
            return False
        parts = urlsplit(f"//{host_header}")
        try:
            port = parts.port
        except ValueError:
            return False
        if port not in (None, self.port):
            return False
        name = (parts.hostname or "").lower()
        if is_loopback(name) or name == self.host.strip("[]").lower():
            return True
        # bound to every interface with keys: any name that reaches us is fine, the key decides
        return bool(self.keys) and self.host in ("0.0.0.0", "::", "")

    @staticmethod
    def origin_ok(origin: str | None) -> bool:
        """Browsers send Origin; only pages served from this machine may use Guard."""
        return is_local_origin([origin] if origin else [])

    def key_ok(self, presented: str | None) -> bool:
        if not self.keys:
            return True
        # as bytes: compare_digest refuses non-ASCII str (a TypeError, once an HTTP 500)
        got = _utf8(presented or "")
        return bool(got) and any(hmac.compare_digest(got, _utf8(k)) for k in self.keys)


def _utf8(text: str) -> bytes:
    # header bytes beyond ASCII arrive as surrogate escapes: this gives back the bytes sent
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def client_key(headers, subprotocols: list[str]) -> str | None:
    """The key a client presents: Authorization Bearer, api-key, or the browser subprotocol."""
    auth = next(iter(headers.get_all("Authorization")), "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    api_key = next(iter(headers.get_all("api-key")), "")
    if api_key.strip():
        return api_key.strip()
    for p in subprotocols:
        if p.startswith(KEY_SUBPROTOCOL):
            return p[len(KEY_SUBPROTOCOL):] or None
    return None


def offered_subprotocols(headers) -> list[str]:
    out: list[str] = []
    for value in headers.get_all("Sec-WebSocket-Protocol"):
        out += [p.strip() for p in value.split(",") if p.strip()]
    return out


def upstream_headers(headers, *, replace_key: str | None = None) -> list[tuple[str, str]]:
    """The client's headers the service needs; with `replace_key`, Guard's own key
    (which the service does not know) is swapped for the stored one, in the same header."""
    out = []
    for name in FORWARD_HEADERS:
        for value in headers.get_all(name):
            if replace_key is not None and name == "authorization":
                value = f"Bearer {replace_key}"
            elif replace_key is not None and name == "api-key":
                value = replace_key
            out.append((name, value))
    return out


def upstream_subprotocols(offered: list[str], *, replace_key: str | None = None) -> list[str]:
    if replace_key is None:
        return list(offered)
    return [KEY_SUBPROTOCOL + replace_key if p.startswith(KEY_SUBPROTOCOL) else p for p in offered]


def http_response(status: int, body: dict[str, Any] | bytes | bytearray, content_type: str = "application/json",
                  reason: str | None = None, headers: list[tuple[str, str]] | None = None):
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    data = bytes(body) if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
    try:
        phrase = reason or HTTPStatus(status).phrase
    except ValueError:
        phrase = reason or "Error"
    return Response(status, phrase, Headers([("Content-Type", content_type), ("Content-Length", str(len(data))),
                                             *(headers or [])]), data)


_TOKENS = re.compile(rb"(?i)(bearer\s+|basic\s+|openai-insecure-api-key\.)[^\s\"',;}]+|\bsk-[A-Za-z0-9_\-]{3,}")


def mask_secrets(data: bytes, known: list[str]) -> bytes:
    """An upstream body as apps may see it: keys it echoes (the stored one, any Bearer or
    `sk-` token) masked, every other byte kept (apps show these messages)."""
    for key in known:
        if key:
            data = data.replace(key.encode(), b"***")
    return _TOKENS.sub(lambda m: (m.group(1) or b"sk-") + b"***", data)


def error_body(message: str, code: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """Shaped like the service's own HTTP errors, so SDKs show the message."""
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}
