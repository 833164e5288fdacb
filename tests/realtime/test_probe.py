"""Settings ▸ Test connection: each failure is told apart, against servers started here."""

import logging

import pytest

from app.engine import LocalEngine
from app.realtime import ProviderConfig
from app.realtime.probe import probe
from tests.helpers.servers import free_port, http_answer, silent

KEY = "sk-test-0123456789abcdefSECRET"


@pytest.fixture
async def engine():
    eng = LocalEngine(default_voice="verse", translator=None)
    await eng.start()
    yield eng
    await eng.stop()


def assert_no_key(result, caplog):
    assert KEY not in result.message
    assert KEY not in caplog.text


async def test_the_local_engine_with_its_key_opens_a_session(engine):
    r = await probe(ProviderConfig(provider="local", api_key=engine.api_key, websocket_base_url=engine.url))
    assert r.ok, r.message
    assert r.kind == "ok" and r.session_id
    assert "Connected" in r.message and "reads text back" in r.message


async def test_the_local_engine_refuses_another_key_as_auth(engine):
    r = await probe(ProviderConfig(provider="local", api_key=KEY, websocket_base_url=engine.url))
    assert r.kind == "auth" and r.status == 401, r.message
    assert r.message.startswith("✗ The local engine refused the API key")


async def test_a_wrong_key_is_reported_as_the_key(engine, caplog):
    caplog.set_level(logging.INFO)   # the app caps websockets at INFO (headers are DEBUG)
    # the engine seen as an OpenAI-compatible endpoint, as a user would type it
    r = await probe(ProviderConfig(provider="openai", api_key=KEY, endpoint=engine.url))
    assert r.kind == "auth", r.message
    assert r.status == 401
    assert "refused the API key" in r.message
    assert_no_key(r, caplog)


async def test_nothing_listening_is_reported_as_unreachable(caplog):
    caplog.set_level(logging.INFO)   # the app caps websockets at INFO (headers are DEBUG)
    port = free_port()
    r = await probe(ProviderConfig(provider="openai", api_key=KEY, endpoint=f"ws://127.0.0.1:{port}/v1"),
                    timeout_s=5)
    assert r.kind == "unreachable", r.message
    assert f"127.0.0.1:{port}" in r.message and "nothing is listening" in r.message
    assert_no_key(r, caplog)


async def test_an_azure_deployment_that_does_not_exist_is_named(caplog):
    caplog.set_level(logging.INFO)   # the app caps websockets at INFO (headers are DEBUG)
    body = {"error": {"code": "DeploymentNotFound",
                      "message": "The API deployment for this resource does not exist."}}
    with http_answer(404, body) as port:
        r = await probe(ProviderConfig(provider="azure", api_key=KEY, endpoint=f"http://127.0.0.1:{port}",
                                       deployment="my-realtime", azure_style="legacy",
                                       api_version="2024-10-01-preview"))
    assert r.kind == "not_found", r.message
    assert r.status == 404
    assert "“my-realtime”" in r.message and "deployment" in r.message
    assert "API version 2024-10-01-preview" in r.message
    assert "does not exist" in r.message          # the server's own words
    assert_no_key(r, caplog)


async def test_an_api_version_the_resource_lacks_points_at_the_version(caplog):
    caplog.set_level(logging.INFO)   # the app caps websockets at INFO (headers are DEBUG)
    body = {"error": {"code": "BadRequest", "message": "API version not supported"}}
    with http_answer(400, body) as port:
        r = await probe(ProviderConfig(provider="azure", api_key=KEY, endpoint=f"http://127.0.0.1:{port}",
                                       deployment="rt", azure_style="legacy", api_version="1999-01-01"))
    assert r.kind == "bad_request", r.message
    assert "API version (1999-01-01)" in r.message and "not supported" in r.message
    assert_no_key(r, caplog)


async def test_a_server_that_never_answers_is_a_timeout(caplog):
    caplog.set_level(logging.INFO)   # the app caps websockets at INFO (headers are DEBUG)
    with silent() as port:
        r = await probe(ProviderConfig(provider="openai", api_key=KEY, endpoint=f"ws://127.0.0.1:{port}/v1"),
                        timeout_s=1.0)
    assert r.kind == "timeout", r.message
    assert "did not answer within 1 s" in r.message
    assert r.elapsed_s < 5
    assert_no_key(r, caplog)


async def test_no_key_and_an_unusable_endpoint_are_told_without_connecting():
    r = await probe(ProviderConfig(provider="openai", api_key=None))
    assert r.kind == "no_key" and "No API key" in r.message
    r = await probe(ProviderConfig(provider="openai", api_key=KEY, endpoint="http://example.com/v1"))
    assert r.kind == "config" and "unencrypted" in r.message
    assert KEY not in r.message
