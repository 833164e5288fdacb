"""Probe of issue 24: an upstream handshake that hangs gets Guard's 502 before the app gives up."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.guard import Guard
from tests.helpers.servers import silent


# --- 7. an upstream handshake that hangs ---------------------------------------------------------------------
def test_guards_upstream_timeout_defaults_below_a_clients_10_s():
    g = Guard("ws://127.0.0.1:1/v1", verify=False)
    assert g.upstream_timeout < 10


async def test_a_hanging_upstream_handshake_gets_guards_502_before_the_clients_timeout(guards):
    with silent() as port:
        guard = await guards(f"ws://127.0.0.1:{port}/v1", upstream_timeout=0.5)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(InvalidStatus) as exc:
            await connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": "Bearer k"},
                          open_timeout=3)
        assert exc.value.response.status_code == 502 and loop.time() - t0 < 3
        assert b"upstream_unreachable" in exc.value.response.body
