"""Which Realtime endpoint to talk to and in which shape.

  openai  GA     AsyncOpenAI().realtime.connect(model=…)            /v1/realtime?model=…
  openai  beta   AsyncOpenAI().beta.realtime.connect(model=…)       + OpenAI-Beta: realtime=v1
  azure   legacy AsyncAzureOpenAI(...).beta.realtime.connect()      /openai/realtime?api-version=…&deployment=…, api-key header
  azure   v1     AsyncOpenAI(websocket_base_url=…/openai/v1)         GA shape, api-key header
  local          the embedded engine, GA or beta, on ws://127.0.0.1:PORT/v1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from app.core.net import is_loopback
from app.core.secrets import Secret

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_AZURE_API_VERSION = "2024-10-01-preview"
LOCAL_KEY = "verbatim-local"   # placeholder when no key is configured: the engine refuses it (AuthError)


@dataclass
class ProviderConfig:
    provider: str = "local"                 # local | openai | azure
    api_key: Secret | None = None           # a str is wrapped: repr, logs and tracebacks never show it
    model: str = DEFAULT_MODEL
    endpoint: str | None = None             # Azure resource https://x.openai.azure.com, or a custom
                                            # OpenAI-compatible https:// or wss:// base
    deployment: str | None = None           # Azure deployment name (defaults to model)
    api_version: str | None = None          # Azure legacy api-version
    flavor: str = "auto"                    # auto | ga | beta
    azure_style: str = "v1"                 # v1 | legacy
    voice: str = "alloy"
    audio_format: str = "pcm16"             # pcm16 | g711_ulaw | g711_alaw
    websocket_base_url: str | None = None   # local engine, proxies, tests
    base_url: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    connect_timeout_s: float = 15.0

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "api_key" and isinstance(value, str):
            value = Secret(value) if value else None
        object.__setattr__(self, name, value)

    def key(self) -> str | None:
        """The API key itself, for the SDK client only."""
        return self.api_key.reveal() if self.api_key else None

    def __repr__(self) -> str:  # never print the key
        key = "set" if self.api_key else "none"
        return (f"ProviderConfig(provider={self.provider!r}, model={self.model!r}, flavor={self.resolved_flavor()!r}, "
                f"endpoint={self.endpoint!r}, key={key})")

    __str__ = __repr__

    def resolved_flavor(self) -> str:
        if self.provider == "azure" and self.azure_style == "legacy":
            return "beta"          # the legacy Azure path speaks the beta event names
        return "beta" if self.flavor == "beta" else "ga"

    def validate(self) -> None:
        from .errors import AuthError

        if self.provider not in ("local", "openai", "azure"):
            raise ValueError(f"unknown provider {self.provider!r}")
        if self.audio_format not in ("pcm16", "g711_ulaw", "g711_alaw"):
            raise ValueError(f"unsupported audio format {self.audio_format!r}")
        if self.provider in ("openai", "azure") and not self.api_key:
            raise AuthError(f"No API key is configured for {'Azure OpenAI' if self.provider == 'azure' else 'OpenAI'}. "
                            "Add one in Settings, or use the local engine.")
        if self.provider == "azure" and not (self.endpoint or self.websocket_base_url):
            raise ValueError("Azure OpenAI needs the resource endpoint (https://<name>.openai.azure.com)")
        if self.provider in ("openai", "azure"):
            for url in (self.endpoint, self.websocket_base_url, self.base_url):
                if url:
                    _check_secure(url, "Azure OpenAI" if self.provider == "azure" else "OpenAI")
        if self.provider == "openai" and self.endpoint and _is_azure_host(self.endpoint):
            # the dialog has one endpoint field: an Azure resource left there is not an OpenAI proxy
            raise ValueError(f"The endpoint {self.endpoint} is an Azure OpenAI resource: choose the Azure "
                             "provider, or clear the endpoint to use OpenAI itself.")

    def connection_manager(self):
        """The SDK's connection manager for this configuration (not yet connected)."""
        self.validate()
        flavor = self.resolved_flavor()
        headers = dict(self.extra_headers)
        key = self.key()
        if self.provider == "azure" and self.azure_style == "legacy":
            from openai import AsyncAzureOpenAI

            kw: dict[str, Any] = {"api_key": key, "api_version": self.api_version or DEFAULT_AZURE_API_VERSION}
            ws = self.websocket_base_url
            if not ws and _scheme(self.endpoint) == "http":
                # the SDK would switch a (loopback) http endpoint to wss://, which it does not serve
                ws = _ws_from_http(self.endpoint or "").rstrip("/") + "/openai"
            if ws:
                kw["websocket_base_url"] = ws
                kw["base_url"] = self.base_url or _http_from_ws(ws)
            else:
                kw["azure_endpoint"] = self.endpoint
            client = AsyncAzureOpenAI(**kw)
            return client.beta.realtime.connect(model=self.deployment or self.model, extra_headers=headers)

        from openai import AsyncOpenAI

        if self.provider == "azure":
            ws = self.websocket_base_url or _azure_v1_ws(self.endpoint or "")
            headers.setdefault("api-key", key or "")
            client = AsyncOpenAI(api_key=key, base_url=self.base_url or _http_from_ws(ws), websocket_base_url=ws)
            model = self.deployment or self.model
        elif self.provider == "local":
            ws = self.websocket_base_url
            client = AsyncOpenAI(api_key=key or LOCAL_KEY, websocket_base_url=ws,
                                 base_url=self.base_url or _http_from_ws(ws or "ws://127.0.0.1:1/v1"))
            model = self.model
        else:
            kw = {"api_key": key}
            ws = self.websocket_base_url or _openai_ws(self.endpoint)
            if ws:
                kw["websocket_base_url"] = ws
            if self.base_url or ws:
                kw["base_url"] = self.base_url or _http_from_ws(ws)
            client = AsyncOpenAI(**kw)
            model = self.model
        realtime = client.beta.realtime if flavor == "beta" else client.realtime
        if flavor == "beta":
            headers.setdefault("OpenAI-Beta", "realtime=v1")
        return realtime.connect(model=model, extra_headers=headers)



def _scheme(url: str | None) -> str:
    return urlsplit(url or "").scheme.lower()


def _check_secure(url: str, service: str) -> None:
    """A key may only travel encrypted, except to this computer (tests, local proxies)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "wss", "http", "ws") or not parts.hostname:
        raise ValueError(f"The {service} endpoint {url!r} is not a full address: "
                         "it must start with https:// (or wss://).")
    if scheme in ("http", "ws") and not is_loopback(parts.hostname):
        raise ValueError(f"Refusing to send the {service} API key unencrypted: {url} uses {scheme}://. "
                         f"Use https:// (plain {scheme}:// is accepted only for this computer, e.g. 127.0.0.1).")


def _is_azure_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith((".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"))


def _openai_ws(endpoint: str | None) -> str | None:
    """A custom OpenAI-compatible endpoint as the websocket base the SDK appends /realtime to."""
    if not endpoint:
        return None
    base = _ws_from_http(endpoint.split("?", 1)[0].rstrip("/"))
    if base.endswith("/realtime"):
        base = base[: -len("/realtime")]
    return base


def _azure_v1_ws(endpoint: str) -> str:
    base = _ws_from_http(endpoint.rstrip("/"))
    if not base.endswith("/openai/v1"):
        base += "/openai/v1"
    return base


def _ws_from_http(url: str) -> str:
    return _swap_scheme(url, {"https": "wss", "http": "ws"})


def _http_from_ws(ws: str) -> str:
    return _swap_scheme(ws, {"wss": "https", "ws": "http"})


def _swap_scheme(url: str, mapping: dict[str, str]) -> str:
    scheme, sep, rest = url.partition("://")
    return mapping.get(scheme.lower(), scheme.lower()) + sep + rest if sep else url
