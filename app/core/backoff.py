"""Slowing down key guessing, shared by the local engine and Guard (no Qt, no network)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MIN_REMOTE_KEY = 16       # a key that guards a port beyond loopback: at least this many characters


class Backoff:
    """Slows key guessing per client address: after `after` failures in a row, each further
    attempt waits `base_s`, doubling per failure up to `max_s`; a right key clears the count."""

    def __init__(self, after: int = 5, base_s: float = 1.0, max_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        self.after, self.base_s, self.max_s, self.clock = after, base_s, max_s, clock
        self.max_clients = max_clients
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()   # address -> (failures, until)

    def wait_s(self, address: str) -> float:
        """Seconds this address must still wait before its key is looked at (0: go ahead)."""
        _, until = self._clients.get(address, (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, address: str) -> None:
        failures = self._clients.pop(address, (0, 0.0))[0] + 1
        delay = 0.0 if failures < self.after else min(self.max_s, self.base_s * 2 ** (failures - self.after))
        self._clients[address] = (failures, self.clock() + delay)
        while len(self._clients) > self.max_clients:     # bounded: the oldest records go first
            self._clients.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._clients.pop(address, None)
