"""One client cannot lock everyone out of `serve` (issue 24's probe: 200 concurrent connections
took all 32 slots and new clients stayed refused until a holder left). A client is the key it
presents (or its address when keyless); each has its own limit, handshakes that do not finish
are dropped, and upgraded sockets idle in both directions are closed. Short settings, 127.0.0.1."""

import asyncio
import json
import socket
import subprocess
import sys
import time

import pytest
import websockets

from app.engine import LocalEngine
from app.engine import server as engine_server

from .test_serve_cli import ROOT, start_serve, stop

KEY_A, KEY_B, KEY_C = "client-a-key-0123456789", "client-b-key-0123456789", "client-c-key-0123456789"


def engine_with(keys=None, **limits):
    """An engine with short limits (set as attributes, which start() and each session read)."""
    eng = LocalEngine(default_voice="verse", api_keys=keys)
    for name, value in limits.items():
        setattr(eng, name, value)
    return eng


async def connect(engine, key):
    ws = await websockets.connect(engine.url + "/realtime?model=gpt-realtime",
                                  additional_headers={"Authorization": f"Bearer {key}"})
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "session.created"
    return ws


async def refused(engine, key):
    with pytest.raises(websockets.InvalidStatus) as err:
        await connect(engine, key)
    body = json.loads(err.value.response.body)
    return err.value.response.status_code, body["error"]["code"]


def test_defaults_leave_room_for_other_clients():
    assert 1 <= engine_server.MAX_SESSIONS_PER_CLIENT < engine_server.MAX_SESSIONS
    assert engine_server.HANDSHAKE_TIMEOUT_S == 10
    assert engine_server.IDLE_TIMEOUT_S == 15 * 60


async def test_one_client_cannot_take_every_slot():
    async with engine_with([KEY_A, KEY_B, KEY_C], max_sessions=5, max_sessions_per_client=2) as eng:
        # client A tries to take everything, at once: it gets its 2, the rest are refused
        many = await asyncio.gather(*[connect(eng, KEY_A) for _ in range(8)], return_exceptions=True)
        held = [ws for ws in many if not isinstance(ws, BaseException)]
        assert len(held) == 2
        assert await refused(eng, KEY_A) == (429, "too_many_sessions_for_client")
        # clients under their limit still get in while total capacity remains
        b = [await connect(eng, KEY_B) for _ in range(2)]
        c = await connect(eng, KEY_C)
        assert len(eng.sessions) == 5
        assert await refused(eng, KEY_C) == (429, "too_many_sessions")    # the server is full
        await held[0].close()
        await asyncio.sleep(0.2)
        again = await connect(eng, KEY_A)          # a slot freed: A is under its limit again
        for ws in held[1:] + b + [c, again]:
            await ws.close()


async def test_a_handshake_that_does_not_complete_is_dropped():
    async with engine_with(handshake_timeout=0.5) as eng:
        with socket.create_connection(("127.0.0.1", eng.port), timeout=5) as s:
            s.sendall(b"GET /v1/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # and never the rest
            t0 = time.monotonic()
            data = await asyncio.to_thread(s.recv, 4096)
            assert time.monotonic() - t0 < 4
            assert data == b"" or data.startswith(b"HTTP/1.1 ")


async def test_an_idle_upgraded_socket_is_closed_with_a_clear_reason():
    async with engine_with(idle_timeout=0.6) as eng:
        busy = await connect(eng, eng.api_key)
        idle = await connect(eng, eng.api_key)
        for _ in range(8):    # events from the client count as activity, 1.6 s in all
            await busy.send(json.dumps({"type": "conversation.item.delete", "item_id": "none"}))
            assert json.loads(await busy.recv())["type"] == "error"
            await asyncio.sleep(0.2)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(idle.recv(), 5)
        assert closed.value.rcvd.code == 1000 and "idle" in closed.value.rcvd.reason
        assert busy.state is websockets.State.OPEN
        await asyncio.sleep(0.2)
        assert len(eng.sessions) == 1
        await busy.close()


def test_the_limits_are_engine_and_serve_options():
    eng = LocalEngine(default_voice="verse", max_sessions_per_client=3, handshake_timeout=2, idle_timeout=60)
    assert (eng.max_sessions_per_client, eng.handshake_timeout, eng.idle_timeout) == (3, 2, 60)


@pytest.mark.parametrize("flag", [["--idle-timeout", "0"], ["--max-sessions-per-client", "0"]])
def test_serve_refuses_limits_that_are_not_positive(flag):
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--port", "0", *flag], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and flag[0] in r.stderr


async def test_serve_closes_an_idle_session_after_its_idle_timeout():
    proc, info, key = start_serve("--idle-timeout", "0.5", "--max-sessions-per-client", "1")
    try:
        url = info["url"] + "/realtime?model=gpt-realtime"
        headers = {"Authorization": f"Bearer {key}"}
        ws = await websockets.connect(url, additional_headers=headers)
        assert json.loads(await ws.recv())["type"] == "session.created"
        with pytest.raises(websockets.InvalidStatus) as err:    # one session per client here
            await websockets.connect(url, additional_headers=headers)
        assert err.value.response.status_code == 429
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert "idle" in closed.value.rcvd.reason
    finally:
        stop(proc)
