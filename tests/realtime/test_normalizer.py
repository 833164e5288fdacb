import base64

import numpy as np

from app.audio.codecs import encode, get_format
from app.realtime import AudioDelta, Normalizer, ResponseDone, TranscriptDelta


def feed_all(n, events):
    out = []
    for e in events:
        out += n.feed(e)
    return out


def test_beta_and_ga_names_give_the_same_internal_events():
    pcm = (np.sin(np.arange(480) / 5) * 8000).astype(np.int16)
    b64 = base64.b64encode(pcm.tobytes()).decode()
    results = []
    for prefix, tr in (("response.output_audio", "response.output_audio_transcript"),
                       ("response.audio", "response.audio_transcript")):
        n = Normalizer("pcm16")
        out = feed_all(n, [
            {"type": "response.created", "response": {"id": "r1"}},
            {"type": f"{tr}.delta", "response_id": "r1", "delta": "Hi "},
            {"type": f"{prefix}.delta", "response_id": "r1", "delta": b64},
            {"type": f"{tr}.delta", "response_id": "r1", "delta": "there."},
            {"type": f"{prefix}.done", "response_id": "r1"},
            {"type": f"{tr}.done", "response_id": "r1", "transcript": "Hi there."},
            {"type": "response.done", "response": {"id": "r1", "status": "completed", "usage": {"total_tokens": 3}}},
        ])
        results.append([(type(e).__name__, getattr(e, "delta", None)) for e in out if not isinstance(e, AudioDelta)])
        audio = [e for e in out if isinstance(e, AudioDelta)]
        assert len(audio) == 1 and np.array_equal(audio[0].pcm, pcm)
        done = out[-1]
        assert isinstance(done, ResponseDone) and done.transcript == "Hi there." and done.usage == {"total_tokens": 3}
    assert results[0] == results[1]


def test_control_tokens_split_across_deltas_never_reach_the_transcript():
    n = Normalizer()
    deltas = ["Okay", ", much <", "|end", "oftext|> better", ". <|im_end|>"]
    out = feed_all(n, [{"type": "response.audio_transcript.delta", "response_id": "r", "delta": d} for d in deltas])
    text = "".join(e.delta for e in out if isinstance(e, TranscriptDelta))
    assert "<" not in text and "|" not in text
    assert text.startswith("Okay, much better")
    done = n.feed({"type": "response.done", "response": {"id": "r"}})[-1]
    assert done.transcript == "Okay, much better."


def test_text_only_answers_and_g711_audio():
    n = Normalizer("g711_ulaw")
    pcm8 = (np.sin(np.arange(800) / 3) * 6000).astype(np.int16)
    b64 = base64.b64encode(encode(pcm8, get_format("g711_ulaw"))).decode()
    out = feed_all(n, [{"type": "response.output_audio.delta", "response_id": "r", "delta": b64},
                       {"type": "response.output_audio.done", "response_id": "r"},
                       {"type": "response.done", "response": {"id": "r"}}])
    samples = sum(len(e.pcm) for e in out if isinstance(e, AudioDelta))
    assert abs(samples - 2400) <= 2         # 100 ms at 24 kHz
    t = Normalizer()
    out = feed_all(t, [{"type": "response.text.delta", "response_id": "x", "delta": "Only text."},
                       {"type": "response.done", "response": {"id": "x"}}])
    assert out[-1].audio_missing and out[-1].transcript == "Only text."


def test_an_error_event_is_normalized():
    n = Normalizer()
    (err,) = n.feed({"type": "error", "error": {"type": "invalid_request_error", "code": "bad", "message": "no"}})
    assert err.message == "no" and err.code == "bad"


def test_the_package_exports_every_name_and_loads_the_client_only_when_asked():
    import subprocess
    import sys

    import app.realtime as realtime

    assert sorted(realtime.__all__) == sorted(realtime._MODULE)
    for name in realtime.__all__:
        assert getattr(realtime, name).__name__ == name
    code = ("import sys, app.realtime.events; "
            "print('app.realtime.client' in sys.modules, 'app.realtime.normalizer' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
