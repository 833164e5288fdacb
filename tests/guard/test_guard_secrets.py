"""Probes of issue 24: Guard never hands a key to another origin or back to the app, and\nnever shows credentials of the upstream URL. Every server is started here, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.helpers.servers import free_port

from .rawhttp import http, raw_http_server

GUARD_KEY = "guard-key-0123456789"
STORED_KEY = "sk-stored-SERVICEKEY-abcdef123456"


# --- 1. redirects ------------------------------------------------------------------------------------
@pytest.mark.parametrize("own_key", [False, True])
async def test_an_upstream_redirect_is_passed_back_not_followed(guards, own_key):
    elsewhere, seen_elsewhere, other = await raw_http_server(lambda head: http("404 Not Found", b"{}"))
    location = f"Location: ws://127.0.0.1:{elsewhere}/v1/realtime"
    port, seen, server = await raw_http_server(lambda head: http("302 Found", b'{"moved": true}', location))
    try:
        kw = {"api_keys": {GUARD_KEY}, "upstream_key": STORED_KEY} if own_key else {}
        guard = await guards(f"ws://127.0.0.1:{port}/v1", **kw)
        key = GUARD_KEY if own_key else "sk-client-KEY-0123456789"
        with pytest.raises(InvalidStatus) as exc:
            await connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": f"Bearer {key}"})
        assert exc.value.response.status_code == 302
        assert "Location" not in exc.value.response.headers     # the app is not sent there either
        assert len(seen) == 1 and seen_elsewhere == []           # no key went to the other origin
    finally:
        for s in (server, other):
            s.close()


# --- 2. upstream error bodies -------------------------------------------------------------------------
async def test_an_upstream_401_echoing_the_stored_key_reaches_the_app_masked(guards):
    def echo(head: bytes) -> bytes:
        auth = next(line for line in head.decode().split("\r\n") if line.lower().startswith("authorization:"))
        body = {"error": {"message": f"Incorrect API key provided. You sent {auth[15:]}; also sk-other-LEAK12345",
                          "type": "invalid_request_error", "code": "invalid_api_key"}}
        return http("401 Unauthorized", json.dumps(body).encode())

    port, seen, server = await raw_http_server(echo)
    try:
        guard = await guards(f"ws://127.0.0.1:{port}/v1", api_keys={GUARD_KEY}, upstream_key=STORED_KEY)
        with pytest.raises(InvalidStatus) as exc:
            await connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": f"Bearer {GUARD_KEY}"})
        assert STORED_KEY.encode() in seen[0]      # the service did get the stored key
        r = exc.value.response
        body = json.loads(r.body)
        assert r.status_code == 401 and body["error"]["code"] == "invalid_api_key"
        assert body["error"]["message"].startswith("Incorrect API key provided.")   # apps still read it
        assert STORED_KEY not in r.body.decode() and "SERVICEKEY" not in r.body.decode()
        assert "LEAK12345" not in r.body.decode()
    finally:
        server.close()


# --- 3. credentials in the upstream URL ---------------------------------------------------------------
async def test_upstream_userinfo_is_masked_in_health_and_the_502_body(guards, caplog):
    guard = await guards(f"ws://alice:hunter2secret@127.0.0.1:{free_port()}/v1")
    assert "hunter2secret" not in str(guard.upstream) and "alice" not in str(guard.upstream)
    reader, writer = await asyncio.open_connection("127.0.0.1", guard.port)
    writer.write(b"GET /verbatim/guard/health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % guard.port)
    data = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    assert b" 200 " in data.split(b"\r\n", 1)[0] and b"127.0.0.1" in data and b"hunter2secret" not in data
    with caplog.at_level(logging.INFO, logger="app.guard"):
        with pytest.raises(InvalidStatus) as exc:
            await connect(guard.url + "/realtime?model=m", additional_headers={"Authorization": "Bearer k"})
    assert exc.value.response.status_code == 502
    assert b"hunter2secret" not in exc.value.response.body and b"127.0.0.1" in exc.value.response.body
    assert "hunter2secret" not in caplog.text and "unreachable" in caplog.text


async def test_the_guard_cli_shows_no_upstream_password_on_stdout_or_stderr():
    import re
    import signal
    import sys

    from .test_guard_cli import ROOT

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "guard", "--port", "0", "--no-history",
        "--upstream", f"ws://alice:hunter2secret@127.0.0.1:{free_port()}/v1", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        url = re.search(r"on (ws://\S+?),", first).group(1)
        with pytest.raises(InvalidStatus) as exc:
            await connect(url + "/realtime?model=m", additional_headers={"Authorization": "Bearer k"})
        assert exc.value.response.status_code == 502
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    text = first + out.decode() + err.decode()
    assert "forwarding to ws://***@127.0.0.1:" in first
    assert "WARNING app.guard" in err.decode() and "unreachable" in err.decode()   # logged, redacted
    assert "hunter2secret" not in text
