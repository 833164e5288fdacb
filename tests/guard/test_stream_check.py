"""Streaming verification settles whole sentences while audio still arrives."""

from __future__ import annotations

import asyncio

import numpy as np

from app.audio.resample import resample
from app.guard.mend import missing_tail
from app.guard.stream import StreamingCheck
from app.guard.tap import TappedResponse
from app.tts import synthesize

SENTENCES = ["The train leaves at ten in the morning.", "We should be there a little early.",
             "Bring the tickets and your passport."]


def speech(text: str) -> np.ndarray:
    s = synthesize(text, "en", "alloy")
    return resample(s.samples, s.sample_rate, 24000)


async def test_a_pass_settles_spoken_sentences_and_cuts_in_the_pause(worker):
    parts = [speech(t) for t in SENTENCES]
    pause = np.zeros(int(0.3 * 24000), np.int16)
    audio = np.concatenate([parts[0], pause, parts[1], pause, parts[2][: len(parts[2]) // 2]])
    resp = TappedResponse("resp_1", "pcm16")
    resp.transcript_parts = [" ".join(SENTENCES) + " "]
    resp.audio = bytearray(audio.astype("<i2").tobytes())

    async def verify(text, pcm, rate, language=None):
        return await asyncio.wrap_future(worker.submit(text, pcm, rate, language or "en"))

    check = StreamingCheck(resp, verify)
    await check._pass()
    # the first two are spoken and followed by speech: settled; the third is still arriving
    assert check.settled.sentences == 2
    assert check.settled.char == len(SENTENCES[0]) + len(SENTENCES[1]) + 2
    start_third = len(parts[0]) + len(pause) * 2 + len(parts[1])
    assert start_third - 0.3 * 24000 - 2400 <= check.settled.sample <= start_third + 1200
    # what is left to check at the end is the third sentence alone
    rest = np.frombuffer(bytes(resp.audio), "<i2")[check.settled.sample:]
    report = await verify(SENTENCES[2], rest, 24000)
    fix = missing_tail(report, SENTENCES[2])
    assert fix is not None and "passport" in fix.text     # its second half never came


async def test_a_pass_settles_nothing_while_the_first_sentence_is_still_arriving(worker):
    part = speech(SENTENCES[0])
    resp = TappedResponse("resp_2", "pcm16")
    resp.transcript_parts = [SENTENCES[0] + " " + SENTENCES[1][:10]]
    resp.audio = bytearray(part[: int(len(part) * 0.7)].astype("<i2").tobytes())

    async def verify(text, pcm, rate, language=None):
        return await asyncio.wrap_future(worker.submit(text, pcm, rate, language or "en"))

    check = StreamingCheck(resp, verify)
    await check._pass()
    assert check.settled.sentences == 0 and check.settled.sample == 0


async def test_held_audio_gets_its_first_pass_once_the_next_sentence_can_have_begun(worker):
    from app.guard.stream import FAST_PACE, NEXT_S

    async def verify(text, pcm, rate, language=None):
        return await asyncio.wrap_future(worker.submit(text, pcm, rate, language or "en"))

    resp = TappedResponse("resp_3", "pcm16")
    resp.transcript_parts = [" ".join(SENTENCES)]
    audio = np.concatenate([speech(SENTENCES[0]), np.zeros(int(0.3 * 24000), np.int16), speech(SENTENCES[1])])
    due = int((len(SENTENCES[0]) / FAST_PACE + NEXT_S) * 24000)
    check = StreamingCheck(resp, verify, hold=True)
    # a pass on less audio could not settle the first sentence: none starts (not even after 1 s of audio)
    resp.audio = bytearray(audio[: due - 2400].astype("<i2").tobytes())
    check.poke()
    assert check.task is None
    resp.audio = bytearray(audio[:due].astype("<i2").tobytes())
    check.poke()
    assert check.task is not None
    await check.finish()
    assert check.passes == 1 and check._checked_at == due     # (whether it settles is the verifier's call)
