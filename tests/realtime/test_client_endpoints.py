"""How the client reaches each provider: the URL, query and headers the SDK really sends
(recorded by a server on 127.0.0.1, TLS included), keys never in clear or in a repr,
connection attempts counted on the server side, and timeouts that measure silence."""

import asyncio
import dataclasses
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from app.core.secrets import Secret
from app.realtime import (
    AuthError,
    ConnectionLost,
    ProviderConfig,
    RealtimeClient,
    RealtimeError,
    RealtimeTimeout,
)

from .helpers import RecordingServer, make_tls

KEY = "az-0123456789abcdefSECRET"


@pytest.fixture
def tls(tmp_path, monkeypatch):
    ctx, ca_file = make_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)     # the SDK's own default TLS context trusts our CA
    return ctx


async def connect_and_record(server, config):
    client = RealtimeClient(config, connect_attempts=1)
    await client.connect()
    await client.close()
    assert len(server.requests) == 1
    path, headers = server.requests[0]
    url = urlsplit(path)
    return url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, headers


# --- URLs built from the endpoint the Settings dialog takes (no websocket_base_url) -----------
async def test_azure_v1_url_is_built_from_the_https_resource_endpoint(tls):
    async with RecordingServer(tls=tls) as server:
        path, query, headers = await connect_and_record(server, ProviderConfig(
            provider="azure", azure_style="v1", api_key=KEY, endpoint=server.base("https") + "/",
            deployment="my-realtime"))
    assert path == "/openai/v1/realtime"
    assert query == {"model": "my-realtime"}
    assert headers["api-key"] == KEY
    assert "openai-beta" not in headers


async def test_azure_legacy_url_is_built_by_the_sdk_from_the_https_resource_endpoint(tls):
    async with RecordingServer(tls=tls) as server:
        path, query, headers = await connect_and_record(server, ProviderConfig(
            provider="azure", azure_style="legacy", api_key=KEY, endpoint=server.base("https"),
            deployment="my-realtime", api_version="2024-10-01-preview"))
    assert path == "/openai/realtime"
    assert query == {"api-version": "2024-10-01-preview", "deployment": "my-realtime"}
    assert headers["api-key"] == KEY
    assert headers["openai-beta"] == "realtime=v1"
    assert "authorization" not in headers


@pytest.mark.parametrize("style,expected_path", [("v1", "/openai/v1/realtime"), ("legacy", "/openai/realtime")])
async def test_a_loopback_http_azure_endpoint_is_allowed_and_stays_on_that_server(style, expected_path):
    async with RecordingServer() as server:
        path, _query, headers = await connect_and_record(server, ProviderConfig(
            provider="azure", azure_style=style, api_key=KEY, endpoint=server.base("http"), deployment="d"))
    assert path == expected_path
    assert headers["api-key"] == KEY


@pytest.mark.parametrize("scheme,suffix", [("https", "/v1"), ("wss", "/v1"), ("https", "/v1/realtime")])
async def test_the_openai_provider_uses_the_custom_endpoint(tls, scheme, suffix):
    async with RecordingServer(tls=tls) as server:
        path, query, headers = await connect_and_record(server, ProviderConfig(
            provider="openai", api_key="sk-custom-endpoint-key", endpoint=server.base(scheme) + suffix))
    assert path == "/v1/realtime"
    assert query == {"model": "gpt-realtime"}
    assert headers["authorization"] == "Bearer sk-custom-endpoint-key"


# --- keys never travel in clear -------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(provider="azure", endpoint="http://myres.openai.azure.com"),
    dict(provider="azure", azure_style="legacy", endpoint="http://myres.openai.azure.com/"),
    dict(provider="azure", websocket_base_url="ws://10.1.2.3:8080/openai/v1"),
    dict(provider="openai", endpoint="ws://proxy.example.com/v1"),
    dict(provider="openai", endpoint="http://192.168.1.20:8766/v1"),
    dict(provider="openai", base_url="http://proxy.example.com/v1"),
])
async def test_an_unencrypted_remote_endpoint_is_refused_before_any_key_is_sent(kw):
    config = ProviderConfig(api_key=KEY, **kw)
    with pytest.raises(ValueError, match="unencrypted"):
        config.validate()
    client = RealtimeClient(config, connect_attempts=3, backoff_s=0.01)
    with pytest.raises(RealtimeError) as err:
        await asyncio.wait_for(client.connect(), 5)
    message = str(err.value)
    assert "unencrypted" in message and "https://" in message
    assert KEY not in message
    assert not err.value.retryable


async def test_an_endpoint_without_a_scheme_gets_a_clear_message():
    with pytest.raises(ValueError, match="must start with https://"):
        ProviderConfig(provider="azure", api_key=KEY, endpoint="myres.openai.azure.com").validate()


def test_an_azure_endpoint_left_in_settings_is_not_used_for_openai():
    with pytest.raises(ValueError, match="choose the Azure provider"):
        ProviderConfig(provider="openai", api_key="sk-x", endpoint="https://myres.openai.azure.com").validate()


def test_the_key_is_a_secret_in_every_view_of_the_config():
    config = ProviderConfig(provider="openai", api_key="sk-proj-VERYSECRETKEY123")
    assert isinstance(config.api_key, Secret)
    assert config.key() == "sk-proj-VERYSECRETKEY123"
    views = [repr(config), str(config), f"{config}", repr(vars(config)), repr(dataclasses.asdict(config)),
             repr(dataclasses.replace(config, model="other"))]
    for text in views:
        assert "VERYSECRETKEY" not in text, text
    config.api_key = "sk-proj-ANOTHERSECRET456"            # set later: still wrapped
    assert isinstance(config.api_key, Secret) and "ANOTHERSECRET" not in repr(vars(config))
    assert dataclasses.replace(config).key() == "sk-proj-ANOTHERSECRET456"
    config.api_key = ""
    assert config.api_key is None and config.key() is None


# --- retries, counted where the attempts arrive ----------------------------------------------
async def test_a_refused_key_is_an_auth_error_without_retries():
    async with RecordingServer(status=401) as server:
        client = RealtimeClient(ProviderConfig(provider="openai", api_key="wrong-key",
                                               websocket_base_url=server.base("ws") + "/v1"),
                                connect_attempts=3, backoff_s=0.01)
        with pytest.raises(AuthError) as err:
            await client.connect()
    assert "refused the API key" in str(err.value)
    assert "wrong-key" not in str(err.value)
    assert len(server.requests) == 1                      # one attempt, not three
    assert server.requests[0][1]["authorization"] == "Bearer wrong-key"


async def test_a_server_that_is_briefly_unavailable_is_retried_with_backoff():
    async with RecordingServer(status=503) as server:
        client = RealtimeClient(ProviderConfig(provider="openai", api_key="k",
                                               websocket_base_url=server.base("ws") + "/v1"),
                                connect_attempts=3, backoff_s=0.01)
        with pytest.raises(ConnectionLost):
            await client.connect()
    assert len(server.requests) == 3


async def test_stop_during_a_reconnect_is_not_swallowed():
    """The old socket never answers the close handshake; Stop must end the request there,
    not be caught and turned into a fresh connection."""
    async with RecordingServer() as server:
        client = RealtimeClient(ProviderConfig(provider="local", websocket_base_url=server.base("ws") + "/v1"),
                                connect_attempts=1)
        await client.connect()
        assert len(server.requests) == 1
        conn = client._conn
        real_close = conn.close
        closing = asyncio.Event()

        async def close_that_hangs(*a, **kw):
            closing.set()
            await asyncio.sleep(3600)

        conn.close = close_that_hangs
        client._reader.cancel()               # the reader is gone: the next request reconnects
        await asyncio.sleep(0)
        assert not client.connected
        task = asyncio.ensure_future(client.translate_collect("Hello.", source="en", target="en"))
        await asyncio.wait_for(closing.wait(), 5)
        task.cancel()                          # the user presses Stop
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        await asyncio.sleep(0.2)
        assert len(server.requests) == 1       # no new connection after Stop
        await real_close()


# --- timeouts measure silence, not length -------------------------------------------------
LONG = ("The meeting moved to ten thirty on Thursday. Please bring the quarterly report and the "
        "budget figures. We will also talk about the new office.")


async def test_a_long_answer_whose_events_keep_coming_is_not_cut_off(engine):
    client = RealtimeClient(ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, voice="verse"),
                            response_timeout_s=1.0)
    t0 = time.monotonic()
    got = await client.translate_collect(LONG, source="en", target="en",
                                         metadata={"verbatim_fault": json.dumps({"delay_ms": 60})})
    elapsed = time.monotonic() - t0
    await client.close()
    assert got.transcript == LONG
    assert got.done is not None and got.done.audio_samples == len(got.audio) > 24000 * 4
    assert elapsed > 3 * client.response_timeout_s        # far longer than the idle timeout


async def test_the_overall_cap_still_ends_an_answer_that_never_finishes(engine):
    client = RealtimeClient(ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url, voice="verse"),
                            response_timeout_s=5.0, response_max_s=1.0)
    with pytest.raises(RealtimeTimeout) as err:
        await client.translate_collect(LONG, source="en", target="en",
                                       metadata={"verbatim_fault": json.dumps({"delay_ms": 150})})
    await client.close()
    assert "still answering" in str(err.value)
    assert err.value.partial_transcript and LONG.startswith(err.value.partial_transcript)
