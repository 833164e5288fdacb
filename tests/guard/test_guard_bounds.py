"""Probes of issue 24, "Bounds": one client cannot lock others out, idle sockets end, memory is budgeted."""

from __future__ import annotations

import contextlib

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import InvalidStatus

from app.guard import Guard, GuardError
from app.guard.clients import Clients


@contextlib.asynccontextmanager
async def quiet_upstream():
    """A Realtime stand-in on 127.0.0.1 that accepts and then says nothing."""
    async def handler(ws):
        async for _ in ws:
            pass

    async with serve(handler, "127.0.0.1", 0) as server:
        yield f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/v1"


async def _open(guard, key: str | None = None, forwarded: str | None = None):
    headers = {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return await connect(guard.url + "/realtime?model=m", additional_headers=headers, open_timeout=5)


async def _refusal(guard, key: str | None = None, forwarded: str | None = None):
    with pytest.raises(InvalidStatus) as exc:
        await _open(guard, key, forwarded)
    return exc.value.response


# --- 1. fairness --------------------------------------------------------------------------------------------
async def test_one_client_holding_its_share_does_not_lock_others_out(guards):
    async with quiet_upstream() as up:
        guard = await guards(up, max_sessions=6, per_client=3)
        hog = [await _open(guard, "sk-hog-key-1234567890") for _ in range(3)]
        refused = await _refusal(guard, "sk-hog-key-1234567890")
        assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
        assert b"too_many_sessions" in refused.body
        # everyone else still gets in while Guard has room
        others = [await _open(guard, f"sk-other-{i}-1234567890") for i in range(3)]
        assert len(guard.links) == 6 and guard.clients.total == 6
        full = await _refusal(guard, "sk-newcomer-1234567890")
        assert full.status_code == 503
        for ws in hog + others:
            await ws.close()
        await _wait(lambda: guard.clients.total == 0)
        assert not guard.clients.counts       # every slot given back


async def test_a_client_with_sessions_leaves_the_reserved_slots_to_newcomers(guards):
    async with quiet_upstream() as up:
        guard = await guards(up, max_sessions=10, per_client=8)   # reserve: 1 slot
        a = [await _open(guard, "sk-a-1234567890") for _ in range(5)]
        b = [await _open(guard, "sk-b-1234567890") for _ in range(4)]
        assert (await _refusal(guard, "sk-a-1234567890")).status_code == 429   # under its cap, but the last slot is kept
        c = await _open(guard, "sk-c-1234567890")                               # a newcomer gets it
        for ws in [*a, *b, c]:
            await ws.close()


async def test_keys_are_never_kept_only_a_hash(guards):
    async with quiet_upstream() as up:
        guard = await guards(up)
        ws = await _open(guard, "sk-secret-value-1234567890")
        await _wait(lambda: guard.clients.total == 1)
        (name,) = guard.clients.counts
        assert "sk-secret" not in name and name.startswith("key:")
        await ws.close()


async def test_keyless_clients_are_told_apart_by_address_and_forwarded_for_only_from_a_trusted_proxy(guards):
    async with quiet_upstream() as up:
        # not trusted: X-Forwarded-For is ignored, so forging it does not get round the limit
        guard = await guards(up, max_sessions=10, per_client=1)
        ws = await _open(guard, forwarded="203.0.113.1")
        assert (await _refusal(guard, forwarded="203.0.113.2")).status_code == 429
        await ws.close()
        # behind a trusted proxy (here: 127.0.0.1), each forwarded address is a client of its own
        proxied = await guards(up, max_sessions=10, per_client=1, trusted_proxies=["127.0.0.1"])
        one = await _open(proxied, forwarded="203.0.113.1")
        two = await _open(proxied, forwarded="198.51.100.7, 203.0.113.2")
        assert (await _refusal(proxied, forwarded="203.0.113.1")).status_code == 429
        assert set(proxied.clients.counts) == {"addr:203.0.113.1", "addr:203.0.113.2"}
        for w in (one, two):
            await w.close()


def test_forwarded_for_takes_the_last_hop_that_is_not_a_trusted_proxy():
    c = Clients(10, 2, ["10.0.0.0/8"])
    assert c.address("10.1.2.3", ["198.51.100.7, 203.0.113.9, 10.0.0.5"]) == "203.0.113.9"
    assert c.address("10.1.2.3", ["garbage"]) == "10.1.2.3"
    assert c.address("192.0.2.1", ["203.0.113.9"]) == "192.0.2.1"


def test_a_bad_trusted_proxy_is_refused():
    with pytest.raises(GuardError):
        Guard("ws://127.0.0.1:1/v1", verify=False, trusted_proxies=["nginx.local"])


async def _wait(cond, timeout: float = 3.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


# --- 2. handshake and idle timeouts ---------------------------------------------------------------------------
def test_timeouts_default_to_10_s_for_a_handshake_and_15_min_idle():
    g = Guard("ws://127.0.0.1:1/v1", verify=False)
    assert g.handshake_timeout == 10 and g.idle_timeout == 15 * 60
    # Guard's 502 still comes before Guard gives up on the client's handshake
    assert Guard("ws://127.0.0.1:1/v1", verify=False, upstream_timeout=30).open_timeout > 30


async def test_a_handshake_that_never_completes_is_dropped(guards):
    import asyncio

    async with quiet_upstream() as up:
        guard = await guards(up, handshake_timeout=0.5, upstream_timeout=0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", guard.port)
        writer.write(b"GET /v1/realtime?model=m HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # and nothing more
        await writer.drain()
        t0 = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(reader.read(), 5) == b""       # Guard hung up
        assert asyncio.get_running_loop().time() - t0 < 3
        writer.close()


async def test_an_idle_session_is_closed_with_a_reason_and_logged(guards, caplog):
    import asyncio

    from websockets.exceptions import ConnectionClosed

    async with quiet_upstream() as up:
        guard = await guards(up, idle_timeout=0.6)
        ws = await _open(guard)
        await ws.send('{"type": "session.update", "session": {}}')   # an event: the clock starts again
        await asyncio.sleep(0.3)
        assert ws.close_code is None
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1001 and ws.close_reason == "idle for 0.6 s"
        await _wait(lambda: not guard.links and guard.clients.total == 0)
        assert any("idle for 0.6 s" in r.getMessage() for r in caplog.records)


async def test_a_session_with_traffic_is_not_idle(guards):
    import asyncio

    async with quiet_upstream() as up:
        guard = await guards(up, idle_timeout=0.5)
        ws = await _open(guard)
        for _ in range(5):       # 1 s in all, never 0.5 s quiet
            await ws.send('{"type": "input_audio_buffer.clear"}')
            await asyncio.sleep(0.2)
        assert ws.close_code is None and len(guard.links) == 1
        await ws.close()


# --- 3. memory budgets ------------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def scripted_upstream(sent: list[str]):
    """A stand-in that answers `{"type": "test.answer", ...}` with one response's events (pcm16)."""
    import base64
    import json

    async def handler(ws):
        async for raw in ws:
            ask = json.loads(raw)
            if ask.get("type") != "test.answer":
                continue
            rid = ask["rid"]
            events = [{"type": "response.created", "response": {"id": rid, "status": "in_progress"}}] \
                if ask.get("open", True) else []
            events += [{"type": "response.audio.delta", "response_id": rid, "item_id": "item_" + rid,
                        "output_index": 0, "content_index": 0, "delta": base64.b64encode(b"\1\0" * (ask["size"] // 2)).decode()}
                       for _ in range(ask["deltas"])]
            if ask.get("done"):
                events += [{"type": "response.audio_transcript.done", "response_id": rid, "item_id": "item_" + rid,
                            "transcript": "Hello there."},
                           {"type": "response.done", "response": {"id": rid, "status": "completed", "output": []}}]
            for ev in events:
                msg = json.dumps(ev)
                sent.append(msg)
                await ws.send(msg)

    async with serve(handler, "127.0.0.1", 0, max_size=2 ** 24) as server:
        yield f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/v1"


async def _answer(ws, got: list[str], sent: list[str], rid: str, deltas: int, size: int = 4000,
                  done: bool = False, open_: bool = True) -> None:
    import asyncio
    import json

    await ws.send(json.dumps({"type": "test.answer", "rid": rid, "deltas": deltas, "size": size, "done": done,
                              "open": open_}))
    want = len(got) + int(open_) + deltas + 2 * int(done)
    async with asyncio.timeout(5):
        while len(got) < want:
            got.append(await ws.recv())


async def test_a_response_over_its_budget_keeps_no_audio_and_is_not_verified(guards):
    sent: list[str] = []
    async with scripted_upstream(sent) as up:
        guard = await guards(up, response_bytes=10_000, connection_bytes=100_000)
        ws, got = await _open(guard), []
        await _answer(ws, got, sent, "r1", deltas=2)
        assert guard.audio_bytes == 8000                    # kept while it fits
        await _answer(ws, got, sent, "r1", deltas=3, open_=False)
        assert guard.audio_bytes == 0                       # past the budget: nothing kept, not even the start
        await _answer(ws, got, sent, "r1", deltas=2, done=True, open_=False)
        assert got == sent                                  # the app got every event, unchanged
        await _wait(lambda: len(guard.responses) == 1)
        r = guard.responses[-1]
        assert r.status == "unverified" and r.error == "too long to verify: over 0.01 MB"
        assert guard.audio_bytes == 0 and r.audio.nbytes == 0
        await ws.close()


async def test_a_connections_open_responses_share_one_budget(guards):
    sent: list[str] = []
    async with scripted_upstream(sent) as up:
        guard = await guards(up, response_bytes=10_000, connection_bytes=15_000)
        ws, got = await _open(guard), []
        await _answer(ws, got, sent, "r1", deltas=2)
        await _answer(ws, got, sent, "r2", deltas=2)        # 16 000 in all would be over
        assert guard.audio_bytes == 8000
        (link,) = guard.links
        assert link.tap.responses["r2"].overflow and not link.tap.responses["r1"].overflow
        await _answer(ws, got, sent, "r1", deltas=0, done=True, open_=False)
        await _answer(ws, got, sent, "r2", deltas=0, done=True, open_=False)
        await _wait(lambda: len(guard.responses) == 2)
        assert guard.audio_bytes == 0                       # done and recorded: freed
        r1, r2 = guard.responses
        assert r1.error is None and r1.audio.nbytes == 8000
        assert r2.error == "too long to verify: over 0.015 MB with the connection's other answers"
        assert got == sent
        await ws.close()


async def test_a_closed_connection_keeps_nothing(guards):
    sent: list[str] = []
    async with scripted_upstream(sent) as up:
        guard = await guards(up, response_bytes=10_000, connection_bytes=100_000)
        ws, got = await _open(guard), []
        await _answer(ws, got, sent, "r1", deltas=2)         # never finished
        (link,) = guard.links
        assert link.tap.kept_bytes == 8000
        await ws.close()
        await _wait(lambda: not guard.links)
        assert link.tap.kept_bytes == 0 and guard.audio_bytes == 0


async def test_the_records_guard_keeps_stay_within_the_budget(guards):
    sent: list[str] = []
    async with scripted_upstream(sent) as up:
        guard = await guards(up, response_bytes=10_000, connection_bytes=20_000, keep_responses=50)
        ws, got = await _open(guard), []
        for i in range(5):
            await _answer(ws, got, sent, f"r{i}", deltas=2, done=True)
        await _wait(lambda: guard.responses and guard.responses[-1].response_id == "r4")
        assert guard.record_bytes <= 20_000 and [r.response_id for r in guard.responses] == ["r3", "r4"]
        await ws.close()
