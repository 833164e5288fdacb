"""Builds the long-lived parts from Settings: the Realtime client (and the local engine
when no key is configured), the warm verifier, the history store. No Qt."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from app.core.secrets import SecretStore
from app.core.settings import Settings

log = logging.getLogger(__name__)

PROVIDER_LABEL = {"local": "local engine", "openai": "OpenAI", "azure": "Azure OpenAI"}


@dataclass
class EngineStatus:
    provider: str
    label: str           # "OpenAI gpt-realtime", "local engine"
    notice: str = ""     # honest caveat to show, e.g. reading back without a translator


class Services:
    def __init__(self, settings: Settings, secrets: SecretStore | None = None) -> None:
        self.settings = settings
        self.secrets = secrets or SecretStore()
        self.engine = None
        self._engine_lock = threading.Lock()
        self._verifier = None
        self._store = None

    # --- provider ----------------------------------------------------------------------
    def provider(self) -> str:
        p = self.settings.provider
        if p != "auto":
            return p
        if self.secrets.get("openai"):
            return "openai"
        if self.secrets.get("azure") and self.settings.endpoint:
            return "azure"
        return "local"

    def provider_config(self):
        from app.realtime import ProviderConfig

        s = self.settings
        provider = self.provider()
        if provider == "local":
            engine = self.ensure_engine()
            # the engine's random per-run key: nothing else on this machine can drive it
            return ProviderConfig(provider="local", api_key=engine.api_key, model=s.model or "gpt-realtime",
                                  flavor="ga" if s.flavor == "auto" else s.flavor,
                                  voice=s.voice, audio_format=s.audio_format,
                                  websocket_base_url=engine.url)
        key = self.secrets.get(provider)
        return ProviderConfig(provider=provider, api_key=key, model=s.model,
                              endpoint=s.endpoint or None, deployment=s.model if provider == "azure" else None,
                              api_version=s.api_version or None, flavor=s.flavor,
                              azure_style=s.azure_style, voice=s.voice, audio_format=s.audio_format)

    def make_client(self):
        from app.realtime import RealtimeClient

        return RealtimeClient(self.provider_config())

    def ensure_engine(self):
        with self._engine_lock:
            return self._ensure_engine()

    def _ensure_engine(self):
        if self.engine is None:
            from app.engine import LocalEngine

            self.engine = LocalEngine(host="127.0.0.1", port=0)
            self.engine.start_in_thread()
        return self.engine

    def status(self) -> EngineStatus:
        provider = self.provider()
        if provider == "local":
            notice = ""
            if self.engine is not None and not self.engine.translation_available:
                notice = "local engine: no offline translator installed — reading back"
            return EngineStatus("local", "local engine", notice)
        return EngineStatus(provider, f"{PROVIDER_LABEL[provider]} · {self.settings.model}")

    # --- verifier and history -------------------------------------------------------
    def verifier(self):
        if self._verifier is None:
            from app.verify.worker import VerifierWorker

            self._verifier = VerifierWorker(model=self.settings.verifier_model)
        return self._verifier

    def store(self):
        if self._store is None:
            from app.history import HistoryStore

            self._store = HistoryStore()
            recovered = self._store.recover()   # answers a crash interrupted, kept as incomplete
            if recovered:
                log.info("recovered %d interrupted utterance(s) into history", len(recovered))
        return self._store

    def close(self) -> None:
        if self.engine is not None:
            try:
                self.engine.stop_thread()
            except Exception:
                log.exception("stopping the local engine failed")
            self.engine = None
        if self._verifier is not None and hasattr(self._verifier, "close"):
            self._verifier.close()
        if self._store is not None and hasattr(self._store, "close"):
            self._store.close()
