"""Strict mode: text from the Realtime session, speech from a TTS of exactly that text."""

import json

import numpy as np

from app.engine import LocalEngine
from app.pipeline.translate import Pipeline, PipelineOptions
from app.realtime import ProviderConfig, RealtimeClient
from app.repair.speech import LocalSpeech
from app.text import split_sentences


class CountingSpeech(LocalSpeech):
    def __init__(self):
        self.texts = []

    async def speak(self, text, language, voice=None):
        self.texts.append((text, language))
        return await super().speak(text, language, voice)


async def test_strict_mode_voices_every_sentence_of_the_text_only_answer():
    text = "I'm checking. Yes, I found it. Now I can barely hear myself."
    async with LocalEngine(record_events=True, default_voice="verse") as eng:
        client = RealtimeClient(ProviderConfig(provider="local", api_key=eng.api_key, websocket_base_url=eng.url, voice="verse"))
        speech = CountingSpeech()
        p = Pipeline(client, speech=speech, options=PipelineOptions(voice="verse", strict=True, autoplay=False))
        # even a fault that would cut the realtime audio cannot cut strict-mode audio
        u = await p.translate(text, "en", "en", metadata={"verbatim_fault": json.dumps({"truncate_after": 1})})
        await client.close()
    assert u.state == "complete" and u.meta["mode"] == "strict"
    assert u.transcript == text
    assert [t for t, _ in speech.texts] == [s.text for s in split_sentences(text)]
    assert {lang for _, lang in speech.texts} == {"en"}
    assert "audio_missing" not in u.meta
    types = {e["type"] for e in eng.events}
    assert "response.output_text.delta" in types and "response.output_audio.delta" not in types
    assert len(u.audio) / u.sample_rate > 3.0
    assert np.abs(u.audio.astype(np.int32)).mean() > 200
    assert u.timings["first_audio_s"] < u.timings["done_s"]   # speech began before the text ended
