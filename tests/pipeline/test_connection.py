"""Connecting for a request, without Qt: every failure is a sentence and the action that helps."""

import asyncio
import socket

import pytest

from app.core.settings import Settings
from app.pipeline import connection
from app.pipeline.services import Services
from app.pipeline.translate import play_repaired_now
from tests.helpers import SessionSecrets, utterance


def refused() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"https://127.0.0.1:{port}"


def services(**settings) -> tuple[Services, Settings]:
    s = Settings(voice="alloy", **settings)
    secrets = SessionSecrets()
    if settings.get("provider") == "azure":
        secrets.set("azure", "test-key")
    return Services(s, secrets), s


def test_no_key_is_a_settings_problem_before_any_network():
    svc, s = services(provider="openai")
    svc.make_client = lambda: pytest.fail("connected without a key")
    with pytest.raises(connection.ConnectionProblem) as info:
        asyncio.run(connection.connect(svc, s))
    assert info.value.action == connection.SETTINGS and "key" in info.value.message.lower()


def test_a_refused_endpoint_names_the_place_and_points_at_settings():
    endpoint = refused()
    svc, s = services(provider="azure", endpoint=endpoint, model="dep")
    with pytest.raises(connection.ConnectionProblem) as info:
        asyncio.run(connection.connect(svc, s))
    problem = info.value
    assert problem.action == connection.SETTINGS
    assert endpoint.removeprefix("https://") in problem.message and "connection refused" in problem.message
    assert "Errno" not in problem.message and not problem.message.startswith("✗")


def test_an_engine_that_cannot_start_is_worth_a_retry():
    svc, s = services(provider="local")

    def broken():
        raise RuntimeError("voices still loading")

    svc.make_client = broken
    with pytest.raises(connection.ConnectionProblem) as info:
        asyncio.run(connection.connect(svc, s))
    assert info.value.action == connection.RETRY and "voices still loading" in info.value.message


def test_a_repaired_answer_is_played_once():
    from app.core.report import Report

    u = utterance()
    u.report = Report("match", "en", 1.0)
    assert not play_repaired_now(u)          # matched first time: nothing to switch to
    u.original_audio = u.audio.copy()
    from app.core.utterance import RepairAttempt

    u.repairs.append(RepairAttempt(number=1, strategy="revoice", verdict="match"))
    assert play_repaired_now(u) and not play_repaired_now(u)
