"""Who may talk to the local engine (DESIGN.md): its key on every endpoint, no foreign Origin/Host."""

import asyncio
import json

import pytest
import websockets

from app.engine import LocalEngine
from app.engine import server as engine_server
from app.realtime import AuthError, ProviderConfig, RealtimeClient
from app.realtime.config import LOCAL_KEY

WS_PATH = "/v1/realtime?model=gpt-realtime"
UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


async def http(engine, path, headers=None, host=None):
    """One raw HTTP/1.1 request with exactly the headers given (Host included); returns (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", engine.port)
    lines = [f"GET {path} HTTP/1.1", f"Host: {f'127.0.0.1:{engine.port}' if host is None else host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status = int(head.split(b" ", 2)[1])
    body = b""
    length = [int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")]
    if length and status != 101:
        body = await reader.readexactly(length[0])
    writer.close()
    return status, body


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


async def test_the_embedded_engine_makes_a_random_key_per_run_and_refuses_any_other():
    async with LocalEngine(default_voice="verse") as a, LocalEngine(default_voice="verse") as b:
        assert a.api_key != b.api_key and len(a.api_key) >= 40
        for key in (LOCAL_KEY, "sk-anything", b.api_key, a.api_key[:-1], a.api_key + "x"):
            client = RealtimeClient(ProviderConfig(provider="local", api_key=key, websocket_base_url=a.url))
            with pytest.raises(AuthError):
                await client.connect()
        client = RealtimeClient(ProviderConfig(provider="local", api_key=a.api_key, websocket_base_url=a.url))
        assert (await client.connect()).engine == "verbatim-local"
        await client.close()


async def test_the_app_hands_its_engine_key_to_its_client():
    from app.core.secrets import SecretStore
    from app.core.settings import Settings
    from app.pipeline.services import Services

    services = Services(Settings(provider="local", voice="verse"), SecretStore())
    try:
        config = await asyncio.to_thread(services.provider_config)
        assert config.key() == services.engine.api_key and config.key() != LOCAL_KEY
        client = RealtimeClient(config)
        got = await client.translate_collect("Good night.", source="en", target="en")
        assert got.transcript == "Good night."
        await client.close()
    finally:
        await asyncio.to_thread(services.close)


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic c2stdGVzdA=="},
    {"Authorization": "Bearer wrong"},
    {"api-key": "wrong"},
    {"Sec-WebSocket-Protocol": "realtime, openai-insecure-api-key.wrong"},
])
@pytest.mark.parametrize("path", [WS_PATH, "/openai/realtime?api-version=2024-10-01-preview&deployment=d",
                                  "/verbatim/health", "/verbatim/ground-truth/resp_x", "/elsewhere"])
async def test_every_endpoint_needs_the_key(engine, headers, path):
    status, body = await http(engine, path, {**UPGRADE, **headers} if "realtime" in path else headers)
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "invalid_api_key"
    assert engine.api_key.encode() not in body


@pytest.mark.parametrize("how", ["bearer", "api-key", "subprotocol", "query"])
async def test_the_key_is_accepted_where_each_client_sdk_sends_it(engine, how):
    key = engine.api_key
    url, kw = engine.url + "/realtime?model=gpt-realtime", {}
    if how == "bearer":      # openai-python, the npm OpenAIRealtimeWS
        kw["additional_headers"] = bearer(key)
    elif how == "api-key":   # Azure clients (AsyncAzureOpenAI, OpenAIRealtimeWS.azure)
        kw["additional_headers"] = {"api-key": key}
    elif how == "subprotocol":   # the npm OpenAIRealtimeWebSocket in a browser
        kw["subprotocols"] = ["realtime", f"openai-insecure-api-key.{key}"]
    else:                     # the browser client for Azure puts it in the query
        url += f"&api-key={key}"
    async with websockets.connect(url, **kw) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        if how == "subprotocol":
            assert ws.subprotocol == "realtime"    # the key is never echoed back as the chosen protocol


async def test_the_http_endpoints_answer_with_the_key(engine):
    status, body = await http(engine, "/verbatim/health", bearer(engine.api_key))
    assert status == 200 and json.loads(body)["engine"] == "verbatim-local"
    engine.keep_truth("resp_known", {"response_id": "resp_known"})
    assert (await http(engine, "/verbatim/ground-truth/resp_known"))[0] == 401
    status, body = await http(engine, "/verbatim/ground-truth/resp_known", {"api-key": engine.api_key})
    assert status == 200 and json.loads(body)["response_id"] == "resp_known"


@pytest.mark.parametrize("origin,allowed", [
    ("https://evil.example", False),
    ("http://localhost.evil.example", False),
    ("http://127.0.0.1.nip.io:8000", False),
    ("null", False),
    ("file://", False),
    ("chrome-extension://abcdef", False),
    ("http://localhost:3000", True),
    ("https://127.0.0.1", True),
    ("http://[::1]:8080", True),
])
async def test_pages_elsewhere_are_refused_by_origin(engine, origin, allowed):
    status, body = await http(engine, WS_PATH, {**UPGRADE, **bearer(engine.api_key), "Origin": origin})
    assert status == (101 if allowed else 403), body
    status, body = await http(engine, "/verbatim/health", {**bearer(engine.api_key), "Origin": origin})
    assert status == (200 if allowed else 403), body
    if not allowed:
        assert json.loads(body)["error"]["code"] == "forbidden_origin"


@pytest.mark.parametrize("host,allowed", [
    ("evil.example", False),
    ("evil.example:{port}", False),
    ("localhost.evil.example:{port}", False),
    ("127.0.0.1.nip.io:{port}", False),
    ("", False),
    ("127.0.0.1:{port}", True),
    ("localhost:{port}", True),
    ("[::1]:{port}", True),
    ("LOCALHOST", True),
])
async def test_dns_rebinding_is_refused_by_host(engine, host, allowed):
    host = host.format(port=engine.port)
    status, body = await http(engine, "/verbatim/health", bearer(engine.api_key), host=host)
    assert status == (200 if allowed else 403), body
    status, _ = await http(engine, WS_PATH, {**UPGRADE, **bearer(engine.api_key)}, host=host)
    assert status == (101 if allowed else 403)


async def test_a_wildcard_bind_answers_on_a_loopback_url_and_only_to_its_addresses():
    async with LocalEngine("0.0.0.0", 0, api_keys=["k-123-sixteen-chars"], default_voice="verse") as eng:
        assert eng.url.startswith("ws://127.0.0.1:") and eng.api_key == "k-123-sixteen-chars"
        assert (await http(eng, "/verbatim/health", bearer("k-123-sixteen-chars"), host=f"192.0.2.7:{eng.port}"))[0] == 200
        assert (await http(eng, "/verbatim/health", bearer("k-123-sixteen-chars"), host="rebound.example"))[0] == 403
        assert (await http(eng, "/verbatim/health", bearer("k-12")))[0] == 401


def test_keys_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = engine_server.hmac.compare_digest
    monkeypatch.setattr(engine_server.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    eng = LocalEngine(api_keys=["first-key", "second-key"], translator=None)
    assert eng.key_ok("first-key") and eng.key_ok("second-key") and not eng.key_ok("third-key")
    assert not eng.key_ok("") and not eng.key_ok(None)
    assert len(calls) == 6     # every key compared every time, no early exit
    with pytest.raises(ValueError):
        LocalEngine(api_keys=[""], translator=None)
    with pytest.raises(ValueError):
        LocalEngine(api_keys=["ok", ""], translator=None)
    assert LocalEngine(api_keys="single-key", translator=None).key_ok("single-key")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.org", ""])
def test_the_engine_refuses_a_non_loopback_bind_without_keys(host):
    with pytest.raises(ValueError, match="api_keys"):
        LocalEngine(host, translator=None)
    with pytest.raises(ValueError, match="at least 16"):
        LocalEngine(host, api_keys=["k"], translator=None)      # one letter guards nothing
    key = "a-key-of-sixteen"
    assert LocalEngine(host, api_keys=[key], translator=None).api_key == key
