"""What `serve` keeps is bounded and goes with its session (issue 24's probes: ~18 MB of ground
truth per response kept for up to 500 responses; 30 x (64 x 20k-character answer, cancel) took
+540 MB; a long slow answer grew and was not freed after close). Sizes are read from the
engine's own state, not from timings or RSS (bench/serve_memory_bench.py prints RSS)."""

import asyncio
import json
import time

import numpy as np
import pytest

from app.engine import answering
from app.engine import session as session_mod
from app.engine.speech import OUTPUT_RATE, Spoken
from app.engine.truth import TRUTH_SESSION_BYTES, TRUTH_TOTAL_BYTES, TruthStore

from .test_limits import META, message, open_session

LONG = ("word " * 4000).strip()            # 20 k characters, one sentence: the probe's answer


@pytest.fixture
def rendered(monkeypatch):
    """Synthesis replaced by a fast stand-in (1 ms of audio per 1 character) that counts characters."""
    said: list[int] = []

    def render(chunk, voice, offset, speed=1.0):
        said.append(len(chunk.text))
        time.sleep(0.02)                 # in a worker thread, as synthesis is
        pcm = np.full(len(chunk.text) * OUTPUT_RATE // 1000, 100, np.int16)
        end = offset + len(pcm)
        return pcm, Spoken(chunk.text, chunk.language, voice, chunk.sentence, offset, end,
                           offset / OUTPUT_RATE, end / OUTPUT_RATE)

    monkeypatch.setattr(answering, "render", render)
    return said


async def raw_until(ws, types):
    """Skip events (unvalidated: the answers here send tens of thousands) up to one of `types`."""
    while (ev := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] not in types:
        pass
    return ev


def _record(n: int) -> dict:
    return {"response_id": f"resp_{n}", "transcript": "x" * 100}


def _seal(store: TruthStore, session: str, n: int) -> None:
    store.keep(f"resp_{n}", _record(n))
    store.seal(session, f"resp_{n}")


def test_budgets_are_documented_and_bounded():
    assert TRUTH_SESSION_BYTES <= TRUTH_TOTAL_BYTES <= 256 << 20


def test_ground_truth_per_session_is_within_its_byte_budget_oldest_dropped_first():
    size = len(json.dumps(_record(0), separators=(",", ":")))
    store = TruthStore(session_bytes=int(2.5 * size), total_bytes=100 * size)
    for n in range(5):
        _seal(store, "sess_a", n)
        assert store.session_size("sess_a") <= 2.5 * size
    assert [store.get(f"resp_{n}") is not None for n in range(5)] == [False, False, False, True, True]
    assert store.get("resp_4") == _record(4)
    _seal(store, "sess_b", 5)             # another session's budget is its own
    assert store.get("resp_3") is not None and store.session_size("sess_b") == size


def test_ground_truth_of_all_sessions_is_within_the_engine_budget_oldest_dropped_first():
    size = len(json.dumps(_record(0), separators=(",", ":")))
    store = TruthStore(session_bytes=10 * size, total_bytes=int(3.5 * size))
    for n in range(6):
        _seal(store, f"sess_{n}", n)
        assert store.bytes <= 3.5 * size
    assert [store.get(f"resp_{n}") is not None for n in range(6)] == [False] * 3 + [True] * 3
    assert store.session_size("sess_0") == 0
    live = {"response_id": "resp_live"}
    store.keep("resp_live", live)          # a streaming response: its live record, until sealed
    assert store.get("resp_live") is live and store.bytes <= 3.5 * size


async def test_cancelled_long_answers_stop_synthesis_and_keep_truth_within_budget(engine, rendered, monkeypatch):
    monkeypatch.setattr(engine, "truth", TruthStore(session_bytes=800_000, total_bytes=1_000_000))
    ws = await open_session(engine)
    (session,) = engine.sessions
    for _ in range(4):   # the probe, scaled down: 8 x 20 k characters, cancelled at the first audio
        await ws.send(json.dumps({"type": "response.create", "response": {
            "conversation": "none", "metadata": META, "input": [message(LONG) for _ in range(8)]}}))
        await raw_until(ws, {"response.output_audio.delta"})
        await ws.send(json.dumps({"type": "response.cancel"}))
        done = await raw_until(ws, {"response.done"})
        assert done["response"]["status"] == "cancelled"
        at_done = len(rendered)
        await asyncio.sleep(0.3)
        assert len(rendered) - at_done <= 1   # at most the piece being rendered when the cancel came
    # synthesis goes a piece at a time, so a cancel stops it there (it was the whole 160 k at once)
    assert max(rendered) <= answering.SYNTHESIS_PIECE_CHARS
    assert engine.truth.session_size(session.config.id) <= 800_000 and engine.truth.bytes <= 800_000
    assert 1 <= len(engine.truth) < 4     # the newest is still there to read; the oldest went (about 350 KB each)
    await ws.close()


async def test_a_long_answer_keeps_bounded_audio_and_a_closed_session_is_freed(engine, rendered, monkeypatch):
    monkeypatch.setattr(session_mod, "MAX_KEPT_AUDIO", 200_000)    # about 4 s of 24 kHz pcm16
    ws = await open_session(engine)
    (session,) = engine.sessions
    await ws.send(json.dumps({"type": "conversation.item.create", "item": message(LONG)}))
    await ws.send(json.dumps({"type": "response.create", "response": {
        "metadata": META | {"verbatim_fault": json.dumps({"delay_ms": 5})}}}))   # slow: paced deltas
    deltas = 0
    while deltas < 60:                   # 12 s of audio sent, three times the budget
        ev = json.loads(await asyncio.wait_for(ws.recv(), 10))
        deltas += ev["type"] == "response.output_audio.delta"
    said = [it for it in session.items.values() if isinstance(it, session_mod.Said)]
    assert len(said) == 1 and said[0].samples * 2 <= 200_000 and sum(p.nbytes for p in said[0].pcm) <= 200_000
    rid = session.active.id
    await ws.close()
    for _ in range(100):
        if not engine.sessions:
            break
        await asyncio.sleep(0.05)
    assert not engine.sessions
    # everything of the closed session is gone; its ground truth is sealed within the budgets
    assert session.items == {} and session.order == [] and session.tasks == {} and session.active is None
    assert engine.truth.live == 0 and engine.truth.get(rid) is not None
    assert engine.truth.session_size(session.config.id) <= TRUTH_SESSION_BYTES
