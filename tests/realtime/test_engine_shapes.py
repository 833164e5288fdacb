"""The same client code path against every endpoint shape, served by the local engine."""

import numpy as np
import pytest

from app.realtime import ProviderConfig, RealtimeClient

from .helpers import validate_all, validate_event

TEXT = "Good morning. The meeting moved to ten thirty; bring the report."


def configs(engine):
    port = engine.port
    return {
        "local-ga": (ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, flavor="ga"), "ga"),
        "local-beta": (ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, flavor="beta"), "beta"),
        "openai-ga": (ProviderConfig(provider="openai", api_key=engine.api_key, websocket_base_url=engine.url), "ga"),
        "openai-beta": (ProviderConfig(provider="openai", api_key=engine.api_key, websocket_base_url=engine.url,
                                       flavor="beta"), "beta"),
        "azure-legacy": (ProviderConfig(provider="azure", azure_style="legacy", api_key=engine.api_key,
                                        websocket_base_url=f"ws://127.0.0.1:{port}/openai",
                                        deployment="my-realtime", api_version="2024-10-01-preview"), "beta"),
        "azure-v1": (ProviderConfig(provider="azure", azure_style="v1", api_key=engine.api_key,
                                    websocket_base_url=f"ws://127.0.0.1:{port}/openai/v1",
                                    deployment="my-realtime"), "ga"),
    }


@pytest.mark.parametrize("name", ["local-ga", "local-beta", "openai-ga", "openai-beta", "azure-legacy", "azure-v1"])
async def test_every_shape_completes_a_request_and_every_event_validates(engine, name):
    config, flavor = configs(engine)[name]
    client = RealtimeClient(config)
    info = await client.connect()
    assert info.flavor == flavor
    assert info.engine == "verbatim-local"
    assert info.translation_available is engine.translation_available
    got = await client.translate_collect(TEXT, source="en", target="en")
    await client.close()

    assert got.transcript == TEXT
    truth = engine.ground_truth(got.done.response_id)
    assert truth is not None and truth["complete"]
    assert len(got.audio) == truth["audio_samples"]          # nothing lost, nothing added
    assert len(got.audio) / 24000 > 2.0
    assert np.abs(got.audio.astype(np.int32)).mean() > 300   # speech, not silence
    assert [s["sentence"] for s in truth["spoken"]] == [0, 1, 2]
    types = validate_all(engine.events, flavor)
    if flavor == "ga":
        assert {"response.output_audio.delta", "response.output_audio_transcript.done",
                "conversation.item.added"} <= types
        assert not any(t.startswith("response.audio") for t in types)
    else:
        assert {"response.audio.delta", "response.audio_transcript.done", "conversation.item.created"} <= types
        assert not any(t.startswith("response.output_audio") for t in types)
    assert {"session.created", "session.updated", "response.created", "response.output_item.added",
            "response.content_part.added", "response.content_part.done", "response.output_item.done",
            "response.done", "conversation.item.deleted"} <= types
    done = [e for e in engine.events if e["type"] == "response.done"][-1]
    assert done["response"]["status"] == "completed"
    assert done["response"]["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("fmt", ["g711_ulaw", "g711_alaw"])
async def test_g711_answers_arrive_as_24khz_pcm_of_the_same_length(engine, fmt):
    pcm_client = RealtimeClient(ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, voice="verse"))
    g711_client = RealtimeClient(ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, audio_format=fmt, voice="verse",
                                                flavor="beta"))
    ref = await pcm_client.translate_collect(TEXT, source="en", target="en")
    got = await g711_client.translate_collect(TEXT, source="en", target="en")
    await pcm_client.close()
    await g711_client.close()
    assert got.transcript == TEXT
    assert abs(len(got.audio) - len(ref.audio)) < 24000 * 0.01
    n = min(len(got.audio), len(ref.audio))
    a, b = got.audio[:n].astype(np.float64), ref.audio[:n].astype(np.float64)
    corr = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert corr > 0.9, corr          # same speech through an 8 kHz companded channel
    updated = [e for e in engine.events if e["type"] == "session.updated"][-1]
    assert updated["session"]["output_audio_format"] == fmt
    validate_event(updated, "beta")


async def test_requests_are_independent_and_the_conversation_does_not_grow(engine):
    client = RealtimeClient(ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, voice="verse"))
    first = await client.translate_collect("First sentence here.", source="en", target="en")
    second = await client.translate_collect("Second one.", source="en", target="en")
    await client.close()
    assert first.transcript == "First sentence here."
    assert second.transcript == "Second one."
    # every input item was deleted again after its answer
    added = [e["item"]["id"] for e in engine.events if e["type"] == "conversation.item.added"]
    deleted = [e["item_id"] for e in engine.events if e["type"] == "conversation.item.deleted"]
    assert added == deleted and len(added) == 2
