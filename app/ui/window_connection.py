"""Connecting: the client, verifier and history a request needs, and why not when they fail.

A part of MainWindow (app/ui/main_window.py); it reads and sets the window's attributes.
"""

from __future__ import annotations

import asyncio
import logging

from app.core.settings import endpoint_problem
from app.pipeline import Pipeline

log = logging.getLogger(__name__)


class WindowConnection:
    async def _ensure_pipeline(self) -> Pipeline | None:
        """The pipeline of the current connection; connects first when there is none."""
        if self.pipeline is not None:
            return self.pipeline
        status = self.services.status()
        problem = self._connection_problem(status)
        if problem:
            self.show_error(problem, cause="connection", action="settings")
            return None
        client = await self._connect(status)
        if client is None:
            return None
        self.refresh_status()     # the engine now knows which pairs it really translates
        verifier = await self._verifier_or_none()
        store = self._store_or_none()
        self.pipeline = self.services.make_pipeline(client, player=self.player, listener=self.listener,
                                                    ask_repair=self._ask_repair, verifier=verifier, store=store)
        return self.pipeline

    def _connection_problem(self, status) -> str:
        """Why connecting cannot work with these settings ("" when it may)."""
        if status.problem == "no-key":
            return status.notice
        if status.provider != "local" and endpoint_problem(self.settings.endpoint):
            return endpoint_problem(self.settings.endpoint) + " Change it in Settings."
        return ""

    async def _connect(self, status):
        """A connected client, or None after saying in the window why not."""
        where = status.label + (f" at {self.settings.endpoint}" if self.settings.endpoint
                                and status.provider != "local" else "")
        self.set_connection("connecting…")
        client = None
        try:
            # off the Qt thread: starting the local engine loads its voices (seconds)
            client = await asyncio.to_thread(self.services.make_client)
            await client.connect()
        except asyncio.CancelledError:
            self.set_connection("not connected")
            if client is not None:
                asyncio.ensure_future(client.close())
            raise
        except Exception as exc:
            log.exception("connect failed")
            self.set_connection("not connected")
            message, action = self._connect_failure(status, where, client, exc)
            self.show_error(message, cause="connection", action=action)
            return None
        self.client = client
        self.set_connection("connected")
        return client


    def _connect_failure(self, status, where: str, client, exc: BaseException) -> tuple[str, str]:
        """What the window says when connecting failed, and the action that helps: the
        words of Test connection for a service (the setting to check), Retry for the engine."""
        if status.provider == "local" or client is None:
            return f"Could not connect to {where}: {exc}", "retry"
        from app.realtime import probe

        result = probe.explain_failure(client.config, exc)
        action = "retry" if result.kind in (probe.TIMEOUT, probe.RATE_LIMITED, probe.ERROR) else "settings"
        return result.message.removeprefix("✗ "), action

    async def _verifier_or_none(self):
        try:   # off the Qt thread: it may still be importing app.verify at start
            return await asyncio.to_thread(self.services.verifier)
        except Exception as exc:
            log.exception("verifier unavailable")
            self.verifier_label.setText("Verifier: unavailable")
            self.show_error(f"The verifier could not start, so mismatches will not be flagged: {exc}",
                            cause="verifier")
            return None

    def _store_or_none(self):
        try:
            return self.services.store()
        except Exception as exc:
            log.exception("history unavailable")
            self.show_error(f"History is unavailable, this answer will not be saved: {exc}", cause="history")
            return None

    async def reset_connection(self) -> None:
        """After settings change: drop the client so the next request uses the new ones."""
        client, self.client, self.pipeline = self.client, None, None
        if client is not None:
            try:
                await client.close()
            except Exception:
                log.exception("closing the client failed")
        self.set_connection("not connected")
        self.refresh_status()
