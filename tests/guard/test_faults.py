"""What the upstream (or the app) can throw at Guard: rate limits, a slow service, a client
leaving mid-answer, many sessions at once, a dropped socket. Guard in front of the local
engine, whose faults are chosen per request (`verbatim_fault`)."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .apps import run_app
from .conftest import ENGINE_KEY
from .test_guard_sdk import VOICE, engine_messages, verdicts

MODES = [("observe", None), ("repair", False), ("repair", None)]    # None: the default (replace)
RATE_LIMIT = {"code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-realtime. Try again in 20s.",
              "type": "rate_limit_error"}


def guard_tasks() -> set[asyncio.Task]:
    """Tasks running Guard's code (a link, its pumps, gates, checks, records)."""
    def ours(t: asyncio.Task) -> bool:
        code = getattr(t.get_coro(), "cr_code", None)
        return code is not None and "/app/guard/" in code.co_filename

    return {t for t in asyncio.all_tasks() if not t.done() and ours(t)}


async def until(cond, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.05)


def sent_audio(engine) -> bytes:
    return b"".join(base64.b64decode(e["delta"]) for e in engine.events if e["type"].endswith("audio.delta"))


# --- rate limits -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,hold", MODES)
async def test_a_rate_limit_error_event_reaches_the_app_unchanged_and_the_session_goes_on(engine, make_guard,
                                                                                         mode, hold):
    guard = await make_guard(mode, hold_audio=hold)
    limited = await run_app(guard.url, fault={"error": RATE_LIMIT})
    assert limited.raw == engine_messages(engine)
    assert {k: limited.error()["error"][k] for k in RATE_LIMIT} == RATE_LIMIT
    assert limited.response is None and not guard.responses     # no answer, nothing to record
    # the next request (a new session) is served normally
    engine.events.clear()
    ok = await run_app(guard.url, text="Good evening.", voice=VOICE)
    assert ok.types[-1] == "response.done" and bytes(ok.audio) == sent_audio(engine)


async def test_the_services_429_at_the_handshake_reaches_the_app_as_it_was(engine, make_guard):
    guard = await make_guard("repair")
    engine.max_sessions = 0          # the engine answers 429 "Too many sessions" to every attempt
    statuses = {}
    for name, url in (("direct", engine.url), ("guard", guard.url)):
        with pytest.raises(InvalidStatus) as err:
            async with connect(url + "/realtime?model=gpt-realtime",
                               additional_headers={"Authorization": f"Bearer {ENGINE_KEY}"}):
                pass
        statuses[name] = (err.value.response.status_code, err.value.response.body)
    assert statuses["guard"] == statuses["direct"] and statuses["direct"][0] == 429
    assert not guard.links and not guard.sessions


# --- a slow upstream ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,hold", MODES)
async def test_a_slow_upstream_loses_and_reorders_nothing_and_still_gets_a_verdict(engine, make_guard, mode, hold):
    text = "Good evening. The weather is fine today."
    guard = await make_guard(mode, hold_audio=hold, language="en")
    # slower than real time: 0.2 s of audio every 0.35 s, after a 1.5 s wait for the first
    run = await run_app(guard.url, text=text, voice=VOICE, fault={"first_delay_ms": 1500, "delay_ms": 350})
    sent = engine_messages(engine)
    assert run.types[-1] == "response.done" and run.transcript == text
    assert bytes(run.audio) == sent_audio(engine)           # every byte, in order
    if hold is None and mode == "repair":    # held audio comes in Guard's own deltas; the rest is as sent
        assert [m for m in run.raw if m in sent] == [m for m in sent if "audio.delta" not in m]
    else:
        assert run.raw == sent
    [got] = await verdicts(guard)
    assert got.report is not None and got.status == "match", got.summary()
    assert got.appended_text is None


# --- a client that leaves mid-answer --------------------------------------------------------------------------
@pytest.mark.parametrize("mode,hold", MODES)
async def test_a_client_leaving_mid_answer_leaves_no_session_task_or_held_audio(engine, make_guard, mode, hold):
    guard = await make_guard(mode, hold_audio=hold, language="en")
    before = guard_tasks()
    text = "One moment please. The train leaves at ten. Bring the tickets. We should be early."
    run = await run_app(guard.url, text=text, voice=VOICE, fault={"delay_ms": 60}, stop_after_deltas=1)
    assert run.closed is None and run.response is None     # the app closed its side mid-answer
    await until(lambda: not guard.links and not guard.sessions and not engine.sessions)
    await until(lambda: not (guard_tasks() - before), 30)
    async with connect(guard.url + "/realtime?model=gpt-realtime",
                       additional_headers={"Authorization": f"Bearer {ENGINE_KEY}"}) as ws:
        json.loads(await ws.recv())     # Guard still serves
    await until(lambda: not guard.sessions)
    assert not guard._tasks


# --- many sessions ------------------------------------------------------------------------------------------
async def test_sessions_beyond_the_limit_are_refused_with_503_and_served_again_when_one_closes(engine,
                                                                                              make_guard):
    guard = await make_guard("repair", max_sessions=3)
    url = guard.url + "/realtime?model=gpt-realtime"
    headers = {"Authorization": f"Bearer {ENGINE_KEY}"}
    open_ = [await connect(url, additional_headers=headers) for _ in range(3)]
    for ws in open_:
        json.loads(await ws.recv())
    assert len(guard.sessions) == 3
    with pytest.raises(InvalidStatus) as err:
        async with connect(url, additional_headers=headers):
            pass
    assert err.value.response.status_code == 503
    assert json.loads(err.value.response.body)["error"]["code"] == "too_many_sessions"
    assert len(engine.sessions) == 3             # the refused one never reached the service
    await open_[0].close()
    await until(lambda: len(guard.sessions) == 2)
    run = await run_app(guard.url, text="Good evening.", voice=VOICE)
    assert run.types[-1] == "response.done"
    for ws in open_[1:]:
        await ws.close()
    await until(lambda: not guard.sessions)


async def test_concurrent_answers_beyond_the_verifiers_queue_pass_unrepaired_not_stuck(engine, make_guard):
    guard = await make_guard("repair", max_pending=1, language="en")
    texts = [f"Session {i} says hello. It works fine." for i in range(8)]
    runs = await asyncio.gather(*[run_app(guard.url, text=t, voice=VOICE, fault={"delay_ms": 20}) for t in texts])
    assert all(r.types[-1] == "response.done" for r in runs)
    assert [r.transcript for r in runs] == texts
    # every answer's audio arrived whole (held audio is released when verifying has to be skipped)
    by_id = {r.response["id"]: r for r in runs}
    got = await verdicts(guard, 8, timeout=120)
    assert any(g.error == "the verifier was busy" for g in got)     # the bound was reached
    for g in got:
        if g.appended_text is None:
            assert bytes(by_id[g.response_id].audio) == g.audio.astype("<i2").tobytes()
    await until(lambda: not guard.sessions)


async def test_held_audio_is_bounded_when_the_verifier_cannot_keep_up(engine, make_guard):
    # no verification slot at all: no sentence is ever judged while the answer streams
    guard = await make_guard("repair", max_pending=0, max_held_s=1.0, language="en")
    text = "The train leaves at ten in the morning. We should be there a little early. Bring the tickets."
    run = await run_app(guard.url, text=text, voice=VOICE, fault={"delay_ms": 20})
    sent = engine_messages(engine)
    assert run.types[-1] == "response.done"
    assert bytes(run.audio) == sent_audio(engine)
    # after ~1 s of held audio the hold was given up: the service's later deltas reached the app as sent
    live = [m for m in run.raw if m in sent and "audio.delta" in m]
    assert live and len(live) < sum("audio.delta" in m for m in sent)
    [got] = await verdicts(guard)
    assert got.timings.get("hold_given_up") == 1.0 and got.error == "the verifier was busy"
