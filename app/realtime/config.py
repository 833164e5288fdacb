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

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_AZURE_API_VERSION = "2024-10-01-preview"
LOCAL_KEY = "verbatim-local"   # the embedded engine accepts any key; the SDK insists on one


@dataclass
class ProviderConfig:
    provider: str = "local"                 # local | openai | azure
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    endpoint: str | None = None             # Azure resource endpoint, https://x.openai.azure.com
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

    def connection_manager(self):
        """The SDK's connection manager for this configuration (not yet connected)."""
        self.validate()
        flavor = self.resolved_flavor()
        headers = dict(self.extra_headers)
        if self.provider == "azure" and self.azure_style == "legacy":
            from openai import AsyncAzureOpenAI

            kw: dict[str, Any] = {"api_key": self.api_key,
                                  "api_version": self.api_version or DEFAULT_AZURE_API_VERSION}
            if self.websocket_base_url:
                kw["websocket_base_url"] = self.websocket_base_url
                kw["base_url"] = self.base_url or _http_from_ws(self.websocket_base_url)
            else:
                kw["azure_endpoint"] = self.endpoint
            client = AsyncAzureOpenAI(**kw)
            return client.beta.realtime.connect(model=self.deployment or self.model, extra_headers=headers)

        from openai import AsyncOpenAI

        if self.provider == "azure":
            ws = self.websocket_base_url or _azure_v1_ws(self.endpoint or "")
            headers.setdefault("api-key", self.api_key or "")
            client = AsyncOpenAI(api_key=self.api_key, base_url=self.base_url or _http_from_ws(ws),
                                 websocket_base_url=ws)
            model = self.deployment or self.model
        elif self.provider == "local":
            ws = self.websocket_base_url
            client = AsyncOpenAI(api_key=self.api_key or LOCAL_KEY, websocket_base_url=ws,
                                 base_url=self.base_url or _http_from_ws(ws or "ws://127.0.0.1:1/v1"))
            model = self.model
        else:
            kw = {"api_key": self.api_key}
            if self.websocket_base_url:
                kw["websocket_base_url"] = self.websocket_base_url
            if self.base_url:
                kw["base_url"] = self.base_url
            client = AsyncOpenAI(**kw)
            model = self.model
        realtime = client.beta.realtime if flavor == "beta" else client.realtime
        if flavor == "beta":
            headers.setdefault("OpenAI-Beta", "realtime=v1")
        return realtime.connect(model=model, extra_headers=headers)


def _azure_v1_ws(endpoint: str) -> str:
    base = endpoint.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://"):]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://"):]
    if not base.endswith("/openai/v1"):
        base += "/openai/v1"
    return base


def _http_from_ws(ws: str) -> str:
    if ws.startswith("wss://"):
        return "https://" + ws[len("wss://"):]
    if ws.startswith("ws://"):
        return "http://" + ws[len("ws://"):]
    return ws
