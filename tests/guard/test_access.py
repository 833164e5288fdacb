"""Who may use Guard, what it passes on to the service, and how the two ends close."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.guard import Guard, GuardError, Upstream
from app.guard.upstream import Access

from .apps import run_app
from .conftest import ENGINE_KEY


# --- pure rules ------------------------------------------------------------------------------------
@pytest.mark.parametrize("base,path,query,want", [
    ("wss://api.openai.com/v1", "/v1/realtime", "model=gpt-realtime", "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
    ("wss://api.openai.com/v1", "/realtime", "model=m", "wss://api.openai.com/v1/realtime?model=m"),
    ("https://res.openai.azure.com", "/openai/realtime", "api-version=2025-04-01-preview&deployment=d",
     "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=d"),
    ("https://res.openai.azure.com", "/openai/v1/realtime", "model=d", "wss://res.openai.azure.com/openai/v1/realtime?model=d"),
    ("https://res.openai.azure.com/openai/v1", "/v1/realtime", "model=d", "wss://res.openai.azure.com/openai/v1/realtime?model=d"),
    ("ws://127.0.0.1:9/v1/realtime", "/v1/realtime", "", "ws://127.0.0.1:9/v1/realtime"),
])
def test_upstream_url_keeps_the_clients_path_shape(base, path, query, want):
    assert Upstream.parse(base).url_for(path, query) == want


@pytest.mark.parametrize("bad", ["ftp://x", "api.openai.com", "wss://api.openai.com/v1?x=1", ""])
def test_a_bad_upstream_is_refused(bad):
    with pytest.raises(ValueError):
        Upstream.parse(bad)


def test_host_and_origin_rules():
    a = Access("127.0.0.1", 8766)
    assert a.host_ok("127.0.0.1:8766") and a.host_ok("localhost:8766") and a.host_ok("[::1]:8766")
    assert not a.host_ok("evil.example:8766") and not a.host_ok("127.0.0.1:9999") and not a.host_ok(None)
    assert a.origin_ok(None) and a.origin_ok("http://localhost:3000") and a.origin_ok("https://127.0.0.1")
    assert not a.origin_ok("https://evil.example") and not a.origin_ok("null")


def test_guard_binds_beyond_loopback_only_with_a_key():
    with pytest.raises(GuardError):
        Guard("ws://127.0.0.1:1/v1", host="0.0.0.0")
    Guard("ws://127.0.0.1:1/v1", host="0.0.0.0", api_keys={"k" * 16})


# --- against the engine ---------------------------------------------------------------------------------
async def test_the_services_refusal_reaches_the_app_unchanged(engine, make_guard):
    guard = await make_guard("observe")
    errors = []
    for url in (engine.url, guard.url):
        with pytest.raises(InvalidStatus) as exc:
            await run_app(url, key="sk-wrong")
        errors.append((exc.value.response.status_code, bytes(exc.value.response.body)))
    assert errors[0] == errors[1] and errors[0][0] == 401


async def test_with_its_own_key_guard_requires_it_and_sends_the_stored_key(engine, make_guard):
    guard = await make_guard("observe", api_keys={"sk-guard"}, upstream_key=ENGINE_KEY)
    run = await run_app(guard.url, key="sk-guard", text="Hello there.")
    assert run.types[-1] == "response.done"
    for key in (ENGINE_KEY, "sk-other"):
        with pytest.raises(InvalidStatus) as exc:
            await run_app(guard.url, key=key)
        assert exc.value.response.status_code == 401
        assert b"Verbatim Guard" in bytes(exc.value.response.body)


@pytest.mark.parametrize("headers,status", [
    ({"Origin": "https://evil.example"}, 403),
    ({"Host": "evil.example"}, 403),
])
async def test_web_pages_and_rebound_hosts_are_refused(engine, make_guard, headers, status):
    guard = await make_guard("observe")
    with pytest.raises(InvalidStatus) as exc:
        async with connect(guard.url + "/realtime?model=gpt-realtime",
                           additional_headers={"Authorization": f"Bearer {ENGINE_KEY}", **headers}):
            pass
    assert exc.value.response.status_code == status


async def test_a_page_on_this_machine_may_connect(engine, make_guard):
    guard = await make_guard("observe")
    async with connect(guard.url + "/realtime?model=gpt-realtime", origin="http://localhost:5173",
                       additional_headers={"Authorization": f"Bearer {ENGINE_KEY}"}) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"


async def test_health_and_unknown_paths(engine, make_guard):
    import urllib.request

    guard = await make_guard("repair")

    def get(path):
        try:
            with urllib.request.urlopen(guard.http_url + path, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, body = await asyncio.to_thread(get, "/verbatim/guard/health")
    assert status == 200 and body["mode"] == "repair"
    status, body = await asyncio.to_thread(get, "/somewhere/else")
    assert status == 404 and "error" in body


# --- against a recording upstream: headers, subprotocols, binary frames, close codes ----------------------
@pytest.fixture
async def recorder():
    seen = {"headers": None, "received": [], "closed": None}

    async def handler(ws):
        seen["headers"] = ws.request.headers
        await ws.send(json.dumps({"type": "session.created", "event_id": "e1", "session": {}}))
        try:
            async for msg in ws:
                seen["received"].append(msg)
                if msg == "close-please":
                    await ws.close(4000, "bye from upstream")
                elif isinstance(msg, bytes):
                    await ws.send(msg[::-1])
        except ConnectionClosed:
            pass
        seen["closed"] = (ws.close_code, ws.close_reason)

    server = await serve(handler, "127.0.0.1", 0,
                         select_subprotocol=lambda conn, offered: "realtime" if "realtime" in offered else None)
    seen["url"] = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/v1"
    yield seen
    server.close()
    await server.wait_closed()


async def test_auth_headers_and_subprotocols_are_passed_on(recorder, make_guard):
    guard = await make_guard("observe", upstream=recorder["url"], verify=False)
    async with connect(guard.url + "/realtime?model=gpt-realtime",
                       subprotocols=["realtime", "openai-insecure-api-key.sk-browser"],
                       additional_headers={"Authorization": "Bearer sk-a", "api-key": "sk-b",
                                           "OpenAI-Beta": "realtime=v1", "Cookie": "secret=1"}) as ws:
        assert ws.subprotocol == "realtime"
        await ws.recv()
    h = recorder["headers"]
    assert h["Authorization"] == "Bearer sk-a" and h["api-key"] == "sk-b" and h["OpenAI-Beta"] == "realtime=v1"
    assert "Cookie" not in h
    assert h["Sec-WebSocket-Protocol"] == "realtime, openai-insecure-api-key.sk-browser"


async def test_binary_frames_pass_both_ways_and_close_codes_are_mirrored(recorder, make_guard):
    guard = await make_guard("repair", upstream=recorder["url"], verify=False)
    async with connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": "Bearer k"}) as ws:
        await ws.recv()
        await ws.send(b"\x00\x01\x02")
        assert await ws.recv() == b"\x02\x01\x00"
        await ws.send("close-please")
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert (ws.close_code, ws.close_reason) == (4000, "bye from upstream")
    async with connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": "Bearer k"}) as ws:
        await ws.recv()
        await ws.close(4001, "app done")
    async with asyncio.timeout(5):
        while recorder["closed"] != (4001, "app done"):
            await asyncio.sleep(0.02)
