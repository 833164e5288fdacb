"""Connecting for a request, without Qt: whether the settings can work at all, the connected
client, and — when it fails — a sentence for the user and the one action that helps.

The window shows what this decides (app/ui/window_connection.py); scripts and tests can
drive it directly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from app.core.settings import Settings, endpoint_problem

log = logging.getLogger(__name__)

SETTINGS, RETRY = "settings", "retry"     # what helps: look at Settings, or just try again


@dataclass
class ConnectionProblem(Exception):
    message: str
    action: str | None = None

    def __str__(self) -> str:
        return self.message


def settings_problem(status, settings: Settings) -> str:
    """Why connecting cannot work with these settings ("" when it may)."""
    if status.problem == "no-key":
        return status.notice
    if status.provider != "local" and endpoint_problem(settings.endpoint):
        return endpoint_problem(settings.endpoint) + " Change it in Settings."
    return ""


def where(status, settings: Settings) -> str:
    """The service as messages name it: "Azure OpenAI · dep at https://…"."""
    return status.label + (f" at {settings.endpoint}" if settings.endpoint and status.provider != "local" else "")


def explain(status, settings: Settings, client, exc: BaseException) -> ConnectionProblem:
    """The words of Test connection for a service (and the setting to check); Retry for the
    local engine, whose failures are passing (voices still loading, a port in use)."""
    if status.provider == "local" or client is None:
        return ConnectionProblem(f"Could not connect to {where(status, settings)}: {exc}", RETRY)
    from app.realtime import probe

    result = probe.explain_failure(client.config, exc)
    action = RETRY if result.kind in (probe.TIMEOUT, probe.RATE_LIMITED, probe.ERROR) else SETTINGS
    return ConnectionProblem(result.message.removeprefix("✗ "), action)


async def connect(services, settings: Settings):
    """A connected client for `services`' current settings, or ConnectionProblem. Cancelling
    closes a half-made client in the background."""
    status = services.status()
    problem = settings_problem(status, settings)
    if problem:
        raise ConnectionProblem(problem, SETTINGS)
    client = None
    try:
        # off the loop's thread: starting the local engine loads its voices (seconds)
        client = await asyncio.to_thread(services.make_client)
        await client.connect()
    except asyncio.CancelledError:
        if client is not None:
            asyncio.ensure_future(client.close())
        raise
    except Exception as exc:
        log.exception("connect failed")
        raise explain(status, settings, client, exc) from exc
    return client

