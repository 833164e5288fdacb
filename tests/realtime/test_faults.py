"""Every fault the seed reports, reproduced on demand, with the engine's ground truth."""

import json

import numpy as np
import pytest

from app.engine import FaultError, parse_fault, seed_cases
from app.realtime import ConnectionLost, ProviderConfig, RateLimitError, RealtimeClient, RealtimeTimeout
from app.resources import MissingResource, load_seed_cases
from app.text import split_sentences

from .helpers import validate_all

TEXT = "One moment, brief pause. Yeah, you're right, it's turned off. I didn't know that existed."


def client_for(engine, **kw):
    return RealtimeClient(ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, voice="verse", **kw))


def fault(**spec):
    return {"verbatim_fault": json.dumps(spec)}


def test_missing_or_empty_seed_cases_fail_loudly(tmp_path, monkeypatch):
    """Tests are parametrized from seed_cases(): `{}` would skip them all and stay green."""
    with pytest.raises(MissingResource, match="missing"):
        load_seed_cases(None)
    with pytest.raises(MissingResource, match="missing"):
        load_seed_cases(tmp_path)
    (tmp_path / "seed-cases.json").write_text(json.dumps({"cases": []}))
    with pytest.raises(MissingResource, match="no cases"):
        load_seed_cases(tmp_path)
    # the engine answers a request for a case with an error it can send, not a crash
    import app.resources as resources

    monkeypatch.setattr(resources, "resources_dir", lambda: None)
    resources.seed_cases.cache_clear()
    try:
        with pytest.raises(FaultError, match="seed cases are missing"):
            parse_fault({"verbatim_fault": json.dumps({"case": "truncated-1"})})
    finally:
        monkeypatch.undo()
        resources.seed_cases.cache_clear()
    assert len(seed_cases()) >= 4 and "truncated-1" in seed_cases()


@pytest.mark.parametrize("case_id", sorted(seed_cases()))
async def test_each_seed_case_is_reproduced_with_its_ground_truth(engine, case_id):
    case = seed_cases()[case_id]
    client = client_for(engine)
    got = await client.translate_collect("anything", source="es", target="en", metadata=fault(case=case_id))
    await client.close()
    assert got.transcript == case["transcript"]
    truth = engine.ground_truth(got.done.response_id)
    assert [[s["language"], s["text"]] for s in truth["spoken"]] == case["spoken"]
    assert truth["transcript"] == case["transcript"]
    assert len(got.audio) == truth["audio_samples"] == truth["spoken"][-1]["end_sample"]
    # chunks are contiguous and each one really has sound in it
    for a, b in zip(truth["spoken"], truth["spoken"][1:], strict=False):
        assert a["end_sample"] == b["start_sample"]
    for s in truth["spoken"]:
        part = got.audio[s["start_sample"]:s["end_sample"]].astype(np.int32)
        assert np.abs(part).mean() > 200
    validate_all(engine.events, "ga")


async def test_truncate_keeps_the_transcript_whole_and_stops_the_audio(engine):
    client = client_for(engine)
    full = await client.translate_collect(TEXT, source="en", target="en")
    cut = await client.translate_collect(TEXT, source="en", target="en", metadata=fault(truncate_after=2))
    await client.close()
    assert cut.transcript == full.transcript == TEXT
    truth = engine.ground_truth(cut.done.response_id)
    assert [s["sentence"] for s in truth["spoken"]] == [0, 1]
    last = split_sentences(TEXT)[2].text
    assert last not in [s["text"] for s in truth["spoken"]]
    missing_s = (len(full.audio) - len(cut.audio)) / 24000
    assert missing_s > 1.0   # the whole last sentence is gone


async def test_drift_speaks_the_given_span_in_another_language(engine):
    text = "Exactly, it used to work automatically before."
    client = client_for(engine)
    got = await client.translate_collect(text, source="en", target="en", metadata=fault(
        drift=[{"sentence": 0, "language": "es", "text": "Exacto,", "replace": "Exactly,"}]))
    await client.close()
    truth = engine.ground_truth(got.done.response_id)
    assert got.transcript == text
    assert [(s["language"], s["text"]) for s in truth["spoken"]] == [
        ("es", "Exacto,"), ("en", "it used to work automatically before.")]
    assert truth["spoken"][0]["voice"].startswith("espeak")


async def test_text_only_answer_is_reported_as_audio_missing(engine):
    client = client_for(engine)
    got = await client.translate_collect(TEXT, source="en", target="en", metadata=fault(no_audio=True))
    await client.close()
    assert got.transcript == TEXT
    assert len(got.audio) == 0
    assert got.done.audio_missing
    types = validate_all(engine.events, "ga")
    assert "response.output_text.delta" in types and "response.output_audio.delta" not in types


async def test_trailing_deltas_after_done_are_still_collected(engine):
    client = client_for(engine)
    ref = await client.translate_collect(TEXT, source="en", target="en")
    got = await client.translate_collect(TEXT, source="en", target="en", metadata=fault(late_deltas=3))
    await client.close()
    assert got.done.late_audio_deltas == 3
    assert np.array_equal(got.audio, ref.audio)      # not one sample lost
    types = [e["type"] for e in engine.events]
    last_done = max(i for i, t in enumerate(types) if t == "response.done")
    assert types[last_done + 1:].count("response.output_audio.delta") == 3


async def test_socket_drop_mid_response_keeps_the_partial_answer_and_reconnects(engine):
    client = client_for(engine)
    with pytest.raises(ConnectionLost) as err:
        await client.translate_collect(TEXT, source="en", target="en", metadata=fault(drop_after_deltas=4))
    exc = err.value
    assert "dropped" in str(exc)
    assert exc.partial_transcript and TEXT.startswith(exc.partial_transcript.strip())
    assert len(exc.partial_audio) == 4 * int(24000 * 0.2)
    # the next request reconnects by itself
    again = await client.translate_collect("Still here.", source="en", target="en")
    assert again.transcript == "Still here."
    assert client.reconnects == 1
    await client.close()


async def test_delayed_deltas_arrive_in_order_and_a_silent_server_times_out(engine):
    client = client_for(engine)
    got = await client.translate_collect("Slow answer here.", source="en", target="en",
                                         metadata=fault(delay_ms=30, first_delay_ms=200))
    assert got.transcript == "Slow answer here."
    assert got.done.audio_samples == len(got.audio) > 0
    impatient = RealtimeClient(client.config, response_timeout_s=0.3)
    with pytest.raises(RealtimeTimeout):
        await impatient.translate_collect("Slow answer.", source="en", target="en",
                                          metadata=fault(first_delay_ms=3000))
    await impatient.close()
    await client.close()


async def test_server_errors_become_typed_errors(engine):
    client = client_for(engine)
    with pytest.raises(RateLimitError) as err:
        await client.translate_collect(TEXT, source="en", target="en", metadata=fault(
            error={"code": "rate_limit_exceeded", "message": "Slow down", "type": "rate_limit_error"}))
    assert "Slow down" in str(err.value)
    # the session survives the error
    ok = await client.translate_collect("Fine again.", source="en", target="en")
    assert ok.transcript == "Fine again."
    await client.close()


async def test_same_request_same_audio(engine):
    client = client_for(engine)
    meta = fault(case="truncated-1")
    a = await client.translate_collect("x", source="es", target="en", metadata={**meta, "verbatim_seed": "7"})
    b = await client.translate_collect("x", source="es", target="en", metadata={**meta, "verbatim_seed": "7"})
    await client.close()
    assert np.array_equal(a.audio, b.audio)
    assert a.transcript == b.transcript
