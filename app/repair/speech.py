"""Text-to-speech of an exact text, for Repair and strict mode.

Realtime models are free to improvise their audio; a TTS endpoint reads exactly the
text it is given. Cloud: OpenAI `audio.speech` (gpt-4o-mini-tts, same voice names as
Realtime) or the Azure deployment of it. Local: the offline voices of app.tts.
Everything returns mono int16 at 24 kHz, the rate of every Utterance.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

import numpy as np

from app.audio.resample import resample

if TYPE_CHECKING:
    from app.realtime.config import ProviderConfig

log = logging.getLogger(__name__)
RATE = 24000


class SpeechError(RuntimeError):
    """Speech could not be produced; the message is for the user."""


class Speech(Protocol):
    name: str

    async def speak(self, text: str, language: str, voice: str | None = None) -> np.ndarray: ...


class LocalSpeech:
    """Offline voices (Piper for English, espeak-ng otherwise), off the event loop."""

    name = "offline TTS"

    async def speak(self, text: str, language: str, voice: str | None = None) -> np.ndarray:
        from app.tts import TTSError, synthesize

        def run() -> np.ndarray:
            out = synthesize(text, language, voice)
            return resample(out.samples, out.sample_rate, RATE)

        try:
            return await asyncio.get_running_loop().run_in_executor(None, run)
        except TTSError as exc:
            raise SpeechError(str(exc)) from exc


class CloudSpeech:
    """OpenAI / Azure OpenAI `audio.speech` with raw 24 kHz pcm output."""

    def __init__(self, client, model: str = "gpt-4o-mini-tts", name: str = "OpenAI TTS") -> None:
        self.client = client          # AsyncOpenAI or AsyncAzureOpenAI
        self.model = model
        self.name = name

    async def speak(self, text: str, language: str, voice: str | None = None) -> np.ndarray:
        try:
            response = await self.client.audio.speech.create(
                model=self.model, voice=voice or "alloy", input=text, response_format="pcm",
                instructions=f"Read the text exactly as written, in its language ({language}). "
                             "Do not add, drop, translate or rephrase anything.")
            data = await response.aread()
        except Exception as exc:
            raise SpeechError(f"{self.name} failed: {exc}") from exc
        if len(data) % 2:
            data = data[:-1]
        return np.frombuffer(data, dtype="<i2").astype(np.int16)


def cloud_speech_for(provider_config: ProviderConfig) -> CloudSpeech | None:
    """The TTS endpoint matching a Realtime provider config, or None for the local engine."""
    provider, key = provider_config.provider, provider_config.key()
    if provider == "openai" and key:
        from openai import AsyncOpenAI

        return CloudSpeech(AsyncOpenAI(api_key=key), name="OpenAI TTS")
    if provider == "azure" and key and provider_config.endpoint:
        from openai import AsyncAzureOpenAI

        client = AsyncAzureOpenAI(api_key=key, azure_endpoint=provider_config.endpoint,
                                  api_version=provider_config.api_version or "2025-03-01-preview")
        return CloudSpeech(client, model="gpt-4o-mini-tts", name="Azure OpenAI TTS")
    return None
