"""Test connection: open one Realtime session with the given settings, report what happened.

Settings ▸ provider runs this off the UI thread. The answer is a `ProbeResult` whose `kind`
says which field to look at (the key, the endpoint, the deployment or API version) and whose
`message` is a sentence for the window. The key never appears in a message: every text that
came from the server or the network is scrubbed of it before it is shown or logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .client import RealtimeClient
from .config import DEFAULT_AZURE_API_VERSION, ProviderConfig
from .errors import AuthError, ConnectionLost, RateLimitError, RealtimeError, RealtimeTimeout, ServerError
from .failures import short

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
MAX_DETAIL = 200      # characters of a server's own explanation kept in a message

# kinds, in the words the dialog uses to point at a field
OK = "ok"
AUTH = "auth"                  # the key was refused
NO_KEY = "no_key"              # nothing to send
UNREACHABLE = "unreachable"    # no such host, nothing listening, TLS or proxy failure
NOT_FOUND = "not_found"        # HTTP 404: wrong deployment / model / path
BAD_REQUEST = "bad_request"    # HTTP 400: typically an Azure API version the resource lacks
TIMEOUT = "timeout"
RATE_LIMITED = "rate_limited"
CONFIG = "config"              # the settings themselves are unusable (endpoint not a URL, http to a remote host)
ERROR = "error"


@dataclass(frozen=True)
class ProbeResult:
    kind: str
    message: str
    elapsed_s: float = 0.0
    status: int | None = None        # HTTP status of a refused handshake
    model: str = ""
    session_id: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == OK


async def probe(config: ProviderConfig, timeout_s: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Connect once (no retries), wait for the session to be created and configured, close."""
    config = dataclasses.replace(config, connect_timeout_s=timeout_s)
    client = RealtimeClient(config, connect_attempts=1)
    t0 = time.monotonic()
    try:
        session = await asyncio.wait_for(client.connect(), timeout_s + 5.0)
    except (RealtimeError, ValueError, TimeoutError) as exc:
        result = _failure(config, exc, time.monotonic() - t0)
        log.info("test connection to %s: %s (%s)", _place(config), result.kind, result.message)
        return result
    finally:
        await client.close()
    elapsed = time.monotonic() - t0
    what = f"{_label(config)} opened a session"
    if session.model:
        what += f" for {session.model}"
    extra = ""
    if config.provider == "local" and not session.translation_available:
        extra = " It reads text back; it translates once an offline translator is installed."
    log.info("test connection to %s: ok in %.2f s", _place(config), elapsed)
    return ProbeResult(OK, f"✓ Connected: {what} in {elapsed:.1f} s.{extra}", elapsed,
                       model=session.model, session_id=session.session_id)


def probe_blocking(config: ProviderConfig, timeout_s: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """`probe` on a private event loop, for callers on a worker thread."""
    return asyncio.run(probe(config, timeout_s))


def start_probe(make_config: Callable[[], ProviderConfig], timeout_s: float = DEFAULT_TIMEOUT_S,
                cleanup: Callable[[], None] | None = None) -> concurrent.futures.Future:
    """Run the probe on a daemon thread; the future holds a ProbeResult (never an exception).
    `make_config` runs on that thread too (it may start the local engine: seconds)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        try:
            try:
                config = make_config()
            except (RealtimeError, ValueError) as exc:
                future.set_result(_failure(None, exc, 0.0))
                return
            future.set_result(probe_blocking(config, timeout_s))
        except Exception as exc:      # the dialog must get an answer whatever happened
            log.exception("test connection failed unexpectedly")
            future.set_result(ProbeResult(ERROR, f"The test could not run: {type(exc).__name__}."))
        finally:
            if cleanup is not None:
                try:
                    cleanup()
                except Exception:
                    log.warning("cleaning up after the connection test failed", exc_info=True)

    threading.Thread(target=run, name="verbatim-test-connection", daemon=True).start()
    return future


# --- classifying a failure -------------------------------------------------------------------
def explain_failure(config: ProviderConfig, exc: BaseException) -> ProbeResult:
    """Why connecting with `config` failed, in the words Test connection uses (the window's
    own connection errors too): `kind` says which setting to look at."""
    return _failure(config, exc, 0.0)


def _failure(config: ProviderConfig | None, exc: BaseException, elapsed: float) -> ProbeResult:
    key = config.key() if config is not None else None
    kind, status, message = _classify(config, exc)
    return ProbeResult(kind, _scrub(message, key), elapsed, status=status)


def _classify(config: ProviderConfig | None, exc: BaseException) -> tuple[str, int | None, str]:
    status = _http_status(exc)
    detail = _server_detail(exc)
    if config is None:
        return (NO_KEY if isinstance(exc, AuthError) else CONFIG), None, f"✗ {exc}"
    label = _label(config)
    if isinstance(exc, AuthError) and status is None and not config.api_key:
        return NO_KEY, None, f"✗ {exc}"
    if isinstance(exc, AuthError):
        return AUTH, status, (f"✗ {label} refused the API key{_code(status)}. Check the key (paste it again, "
                              f"without spaces){' and that it belongs to this resource' if config.provider == 'azure' else ''}.")
    if status == 404:
        return NOT_FOUND, status, _not_found(config, detail)
    if status == 400:
        return BAD_REQUEST, status, _bad_request(config, detail)
    if isinstance(exc, RateLimitError):
        return RATE_LIMITED, status, (f"✗ {label} accepted the key but is rate limiting it{_code(status)}. "
                                      "Check the quota of this key, or try again in a minute.")
    if isinstance(exc, (RealtimeTimeout, TimeoutError)):
        return TIMEOUT, None, (f"✗ {_place(config)} did not answer within {config.connect_timeout_s:.0f} s. "
                               "Check the endpoint address, a firewall or proxy, and try again.")
    if isinstance(exc, ConnectionLost) and status is None:
        return UNREACHABLE, None, (f"✗ Could not reach {_place(config)}: {_reason(exc)}. "
                                   "Check the endpoint address and the network.")
    if isinstance(exc, ValueError) or isinstance(exc.__cause__, ValueError):
        return CONFIG, None, f"✗ {exc}"     # the client wraps the settings' own ValueError
    if isinstance(exc, ServerError) and status is None:
        return ERROR, None, f"✗ The session opened but {label} reported a problem: {exc}"
    return ERROR, status, f"✗ {exc}{(' ' + detail) if detail else ''}"


def _not_found(config: ProviderConfig, detail: str) -> str:
    tail = f" The server said: {detail}" if detail else ""
    if config.provider == "azure":
        name = config.deployment or config.model
        version = (f" and that API version {config.api_version or DEFAULT_AZURE_API_VERSION} is offered"
                   if config.azure_style == "legacy" else "")
        return (f"✗ Azure OpenAI found no Realtime deployment “{name}” at {_place(config)} (HTTP 404). "
                f"Check the deployment name in “Model / deployment”{version}.{tail}")
    return (f"✗ {_place(config)} has no Realtime endpoint for the model “{config.model}” (HTTP 404). "
            f"Check the endpoint and the model name.{tail}")


def _bad_request(config: ProviderConfig, detail: str) -> str:
    tail = f" The server said: {detail}" if detail else ""
    if config.provider == "azure":
        hint = (f"Check the Azure API version ({config.api_version or DEFAULT_AZURE_API_VERSION}) and the style"
                if config.azure_style == "legacy" else "Check the style (v1 or legacy) and the deployment name")
        return f"✗ Azure OpenAI rejected the request (HTTP 400). {hint}.{tail}"
    return f"✗ {_place(config)} rejected the request (HTTP 400). Check the endpoint and the model.{tail}"


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc.__cause__, "response", None)
    code = getattr(response, "status_code", None)
    if isinstance(code, int):
        return code
    code = getattr(exc, "code", None)
    return int(code) if isinstance(code, str) and code.isdigit() and len(code) == 3 else None


def _server_detail(exc: BaseException) -> str:
    """The `error.message` (or code) of a refused handshake's JSON body, if it had one."""
    body = getattr(getattr(exc.__cause__, "response", None), "body", None)
    if not body:
        return ""
    try:
        data = json.loads(bytes(body)[:4096])
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            text = str(err.get("message") or err.get("code") or "")
        else:
            text = str(err or "")
    except (ValueError, TypeError):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 1] + "…"


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(cause, ConnectionRefusedError):
        return "nothing is listening there (connection refused)"
    text = str(cause or exc)
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "no such host name"
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return f"the secure connection failed ({_short(text)})"
    return _short(text)


def _place(config: ProviderConfig) -> str:
    """host[:port] the session goes to, for messages (never a query string)."""
    url = config.websocket_base_url or config.endpoint or config.base_url
    if not url:
        return "api.openai.com" if config.provider == "openai" else _label(config)
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url.split("?", 1)[0]


def _label(config: ProviderConfig) -> str:
    return {"local": "The local engine", "azure": "Azure OpenAI"}.get(config.provider, "OpenAI")


def _code(status: int | None) -> str:
    return f" (HTTP {status})" if status else ""


def _short(text: str) -> str:
    return short(" ".join(text.split()))


def _scrub(text: str, key: str | None) -> str:
    if key and len(key) >= 4:
        text = text.replace(key, "••••")
    return text


__all__ = ["ProbeResult", "explain_failure", "probe", "probe_blocking", "start_probe"]
