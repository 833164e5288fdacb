"""Through Guard (observe): an upstream answer whose audio is a buzz, says a sentence once
that its transcript says twice, or is 2 s of speech under a 10 KB transcript, is recorded
as a mismatch with the right sentences not spoken; the app receives every event unchanged."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pytest
import websockets

from app.guard import Guard
from app.guard.records import GuardListener
from app.tts import synthesize

RATE = 24000


def _buzz(seconds=3.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sign(np.sin(2 * np.pi * 120 * t)) * 32767).astype(np.int16)


def _speech(text):
    from app.audio.resample import resample

    s = synthesize(text, "en", "piper:joe")
    pcm = resample(s.samples, s.sample_rate, RATE) if s.sample_rate != RATE else s.samples
    return np.concatenate([pcm, np.zeros(int(0.3 * RATE), np.int16)])


class Upstream:
    """A scripted Realtime service on 127.0.0.1: answers every response.create with this
    transcript and this audio (pcm16 24 kHz), in the GA event names."""

    def __init__(self, transcript: str, audio: np.ndarray) -> None:
        self.transcript, self.audio = transcript, audio

    async def handler(self, ws):
        await ws.send(json.dumps({"type": "session.created", "event_id": "e0",
                                  "session": {"type": "realtime", "id": "sess_1"}}))
        async for msg in ws:
            if json.loads(msg).get("type") != "response.create":
                continue
            rid, item = "resp_1", "item_1"
            base = {"response_id": rid, "item_id": item, "output_index": 0, "content_index": 0}
            await ws.send(json.dumps({"type": "response.created", "event_id": "e1",
                                      "response": {"id": rid, "status": "in_progress", "output": []}}))
            pcm = self.audio.tobytes()
            step = RATE * 2 // 5                      # 200 ms of pcm16 per delta
            for i in range(0, len(pcm), step):
                await ws.send(json.dumps({"type": "response.output_audio.delta", "event_id": f"a{i}", **base,
                                          "delta": base64.b64encode(pcm[i:i + step]).decode()}))
            await ws.send(json.dumps({"type": "response.output_audio_transcript.delta", "event_id": "t1",
                                      **base, "delta": self.transcript}))
            await ws.send(json.dumps({"type": "response.output_audio_transcript.done", "event_id": "t2",
                                      **base, "transcript": self.transcript}))
            await ws.send(json.dumps({"type": "response.output_audio.done", "event_id": "t3", **base}))
            await ws.send(json.dumps({"type": "response.done", "event_id": "d1",
                                      "response": {"id": rid, "status": "completed", "output": []}}))


class Recorder(GuardListener):
    def __init__(self):
        self.responses = []

    def on_response(self, response):
        self.responses.append(response)


async def _through_guard(transcript, audio, worker):
    up = Upstream(transcript, audio)
    async with websockets.serve(up.handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        rec = Recorder()
        guard = Guard(f"ws://127.0.0.1:{port}/v1", mode="observe", verifier=worker, listener=rec,
                      language="en", history=None)
        await guard.start()
        try:
            got = []
            async with websockets.connect(f"{guard.url}/realtime?model=gpt-realtime", max_size=None) as app:
                await app.send(json.dumps({"type": "response.create", "response": {}}))
                async with asyncio.timeout(60):
                    async for msg in app:
                        got.append(json.loads(msg))
                        if got[-1]["type"] == "response.done":
                            break
            async with asyncio.timeout(60):
                while not rec.responses:
                    await asyncio.sleep(0.05)
        finally:
            await guard.stop()
    sent = b"".join(base64.b64decode(e["delta"]) for e in got if e["type"] == "response.output_audio.delta")
    assert sent == audio.tobytes()          # observe: the app hears exactly what upstream said
    return rec.responses[0]


@pytest.mark.slow
async def test_a_buzz_under_a_transcript_is_recorded_as_not_spoken(worker):
    r = await _through_guard("The museum opens at nine in the morning. Tickets are sold at the door.",
                             _buzz(), worker)
    assert r.status == "mismatch" and r.report is not None
    assert [(s.status, s.heard_language, s.confidence) for s in r.report.segments] == [
        ("truncated", None, "certain")] * 2


@pytest.mark.slow
async def test_a_sentence_written_twice_and_said_once_is_flagged_through_guard(worker):
    sentence = "The museum opens at nine in the morning."
    r = await _through_guard(f"{sentence} {sentence}", _speech(sentence), worker)
    assert r.status == "mismatch"
    assert [s.status for s in r.report.segments] == ["ok", "truncated"]


@pytest.mark.slow
async def test_ten_kilobytes_of_transcript_over_two_seconds_of_speech_through_guard(worker):
    r = await _through_guard(" ".join(["Hello there."] * 800), _speech("Hello there."), worker)
    assert r.status == "mismatch" and len(r.report.segments) == 800
    assert r.report.segments[0].status == "ok"
    assert all(s.status == "truncated" for s in r.report.segments[1:])
    # past what 2 s could hold (< 20 sentences) the audio had ended: red on every CPU; a copy
    # squeezed into the speech's last frames is red on AVX2 and amber on GENERIC
    assert all(s.flagged for s in r.report.segments[20:])
