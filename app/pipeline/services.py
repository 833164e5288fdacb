"""The composition root: builds every part from Settings — the Realtime client (and the
local engine when no key is configured), the warm verifier, the history store, the audio
player, and per connection the Pipeline with its Repairer and speech. The window gets
these from here and builds none of them. No Qt."""

from __future__ import annotations

import logging
import sys
import threading
from concurrent.futures import Future
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
    # what the notice offers: "settings" (add a key), "install" (an offline translator exists)
    actions: tuple[str, ...] = ()
    problem: str = ""    # "no-key", "read-back": lets the window clear it when the cause goes away


class Services:
    def __init__(self, settings: Settings, secrets: SecretStore | None = None) -> None:
        self.settings = settings
        self.secrets = secrets or SecretStore()
        self.engine = None
        self._engine_lock = threading.Lock()
        self._verifier_lock = threading.Lock()   # the window builds it on a loading thread
        self._closed = False
        self._verifier = None
        self._store = None
        self._translator = None
        self._phrase_speech = None

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

    def start_engine_in_background(self) -> Future | None:
        """With the local provider, queue the engine's start (onnxruntime import, voice loading:
        seconds) behind the process's other start-up jobs (app.core.warmup.startup_job), so the
        first request finds it running; `ensure_engine` waits for a start under way. Returns
        the job's future (None when there is nothing to start)."""
        if self.engine is not None or self.provider() != "local":
            return None
        from app.core.warmup import startup_job

        def run() -> None:
            try:
                self.ensure_engine()
            except Exception:   # the first request starts it again and reports why it cannot
                log.warning("starting the local engine in the background failed", exc_info=True)

        return startup_job(run, name="engine")

    def _ensure_engine(self):
        if self._closed:
            raise RuntimeError("the application is closing")
        if self.engine is None:
            from app.engine import LocalEngine

            self.engine = LocalEngine(host="127.0.0.1", port=0)
            self.engine.start_in_thread()
        return self.engine

    def key_missing(self) -> bool:
        """OpenAI/Azure chosen explicitly but no key stored: every request would fail."""
        p = self.settings.provider
        return p in ("openai", "azure") and not self.secrets.get(p)

    def translator(self):
        """The offline translator the local engine uses (or would use once started)."""
        if self.engine is not None:
            return self.engine.translator
        if self._translator is None:
            from app.engine.translator import Translator

            self._translator = Translator()
        return self._translator

    def can_translate(self, source: str, target: str) -> bool | None:
        """Whether a request source->target comes back translated; None when it cannot be
        known in advance (same language, or a detected source with some pairs installed)."""
        if self.provider() != "local":
            return True
        if source == target:
            return None
        tr = self.translator()
        if tr is None or not tr.available:
            return False
        if source == "auto":
            return None if any(b == target for _a, b in tr.pairs()) else False
        return tr.can(source, target)

    def status(self, source: str | None = None, target: str | None = None) -> EngineStatus:
        """The engine in use and, for the chosen pair, what the user should know first."""
        provider = self.provider()
        if self.key_missing():
            name = PROVIDER_LABEL[provider]
            return EngineStatus(provider, f"{name} · {self.settings.model}",
                                f"{name} is selected but no API key is stored, so nothing can be sent to it. "
                                "Add the key in Settings, or choose the local engine.", ("settings",), "no-key")
        if provider != "local":
            return EngineStatus(provider, f"{PROVIDER_LABEL[provider]} · {self.settings.model}")
        label = "local engine"
        source = source or self.settings.source_language
        target = target or self.settings.target_language
        if source == target or self.can_translate(source, target) is not False:
            return EngineStatus("local", label)
        return EngineStatus("local", label, read_back_notice(source, target, self.translator()),
                            ("settings", "install"), "read-back")

    # --- one connection's pipeline ---------------------------------------------------
    def make_player(self):
        from app.audio.player import Player, open_output

        return Player(open_output(self.settings.audio_device))

    def phrase_speech(self):
        """The offline voices that read the typed phrase aloud (no account, no network)."""
        if self._phrase_speech is None:
            from app.repair.speech import LocalSpeech

            self._phrase_speech = LocalSpeech()
        return self._phrase_speech

    def make_pipeline(self, client, *, player=None, listener=None, ask_repair=None,
                      verifier=None, store=None):
        """The Pipeline for a connected `client`, with the Repairer and the speech (the
        provider's TTS, or offline voices) the settings ask for. The caller passes what it
        owns: the player, its listener and how to ask before a repair."""
        from app.pipeline.translate import Pipeline, PipelineOptions
        from app.repair.repairer import Repairer, RepairOptions
        from app.repair.speech import LocalSpeech, cloud_speech_for

        s = self.settings
        speech = cloud_speech_for(client.config) or LocalSpeech()
        repairer = Repairer(RepairOptions(policy=s.repair_policy, attempts=s.repair_attempts),
                            speech=speech, ask=ask_repair)
        options = PipelineOptions(provider=self.provider(), model=s.model, voice=s.voice,
                                  audio_format=s.audio_format, strict=s.strict_mode)
        return Pipeline(client, verifier=verifier, store=store, player=player, listener=listener,
                        options=options, repairer=repairer, speech=speech, can_translate=self.can_translate)

    # --- verifier and history -------------------------------------------------------
    def verifier(self):
        with self._verifier_lock:
            if self._closed:
                raise RuntimeError("the application is closing")
            if self._verifier is None:
                from app.verify.worker import VerifierWorker

                self._verifier = VerifierWorker(model=self.settings.verifier_model)
            return self._verifier

    def replace_verifier(self):
        """After the verifier model setting changed: drop the old worker, build the new one."""
        with self._verifier_lock:
            old, self._verifier = self._verifier, None
        if old is not None:
            old.close()
        return self.verifier()

    def store(self):
        if self._store is None:
            from app.history import HistoryStore

            self._store = HistoryStore()
            recovered = self._store.recover()   # answers a crash interrupted, kept as incomplete
            if recovered:
                log.info("recovered %d interrupted utterance(s) into history", len(recovered))
        return self._store

    def close(self) -> None:
        self._closed = True
        with self._engine_lock:    # an engine still starting in the background is stopped too
            pass
        if self.engine is not None:
            try:
                self.engine.stop_thread()
            except Exception:
                log.exception("stopping the local engine failed")
            self.engine = None
        if self._verifier is not None:
            self._verifier.close()
        if self._store is not None:
            translate = sys.modules.get("app.pipeline.translate")
            if translate is not None:   # history saves run on a disk thread: let them land first
                translate.wait_for_saves(10.0)
            self._store.close()


def read_back_notice(source: str, target: str, translator) -> str:
    """Said before the first request: what works offline and the two ways forward."""
    from app.core.languages import language_name

    into = language_name(target)
    pair = f"from {language_name(source)} into {into}" if source != "auto" else f"into {into}"
    installed = "No translator is available here" if translator is None or not translator.available \
        else f"The offline translator installed here cannot translate {pair}"
    return (f"{installed}: without an API key, the local engine will read your text back aloud in its "
            f"own language (and check that audio) — it will not translate it {pair}. "
            f"To translate, add an OpenAI or Azure key in Settings, or install an offline translator "
            f"for this pair (pip install 'verbatim[translate]' and its Argos Translate language package, "
            f"where one exists for {language_name(source) if source != 'auto' else 'your language'}).")
