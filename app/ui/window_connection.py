"""Connecting: the client, verifier and history a request needs, and why not when they fail.

A part of MainWindow (app/ui/main_window.py); it reads and sets the window's attributes.
"""

from __future__ import annotations

import asyncio
import logging

from app.pipeline import Pipeline, connection

log = logging.getLogger(__name__)


class WindowConnection:
    async def _ensure_pipeline(self) -> Pipeline | None:
        """The pipeline of the current connection; connects first when there is none."""
        if self.pipeline is not None:
            return self.pipeline
        client = await self._connect()
        if client is None:
            return None
        self.refresh_status()     # the engine now knows which pairs it really translates
        verifier = await self._verifier_or_none()
        store = self._store_or_none()
        self.pipeline = self.services.make_pipeline(client, player=self.player, listener=self.listener,
                                                    ask_repair=self._ask_repair, verifier=verifier, store=store)
        return self.pipeline

    async def _connect(self):
        """A connected client, or None after saying in the window why not and what helps."""
        self.set_connection("connecting…")
        try:
            client = await connection.connect(self.services, self.settings)
        except asyncio.CancelledError:
            self.set_connection("not connected")
            raise
        except connection.ConnectionProblem as problem:
            self.set_connection("not connected")
            self.show_error(problem.message, cause="connection", action=problem.action)
            return None
        self.client = client
        self.set_connection("connected")
        return client

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
        await self.drop_connection()
        self.refresh_status()

    def drop_connection(self) -> asyncio.Future:
        """Detach the client at once — a request started right after new settings must not
        reach the old service — and close it in the background."""
        client, self.client, self.pipeline = self.client, None, None
        self.set_connection("not connected")
        return asyncio.ensure_future(_close(client))


async def _close(client) -> None:
    if client is None:
        return
    try:
        await client.close()
    except Exception:
        log.exception("closing the client failed")
