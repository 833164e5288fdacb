"""Where one request is: the single source for the window's button, badge and Esc (no Qt).

    idle ─► connecting ─► streaming ─► verifying ─► repairing ─► done
                 │             │            │            │
                 └─────────────┴────────────┴────────────┴──► stopped (Stop / Esc)
    any active phase ─► failed (could not connect, or an unexpected error)
    a settled phase ─► repairing (the user asked to repair the answer shown)

`active` phases are the ones Stop cancels; the others wait for the next request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

PHASES = ("idle", "connecting", "streaming", "verifying", "repairing", "done", "stopped", "failed")
ACTIVE = frozenset({"connecting", "streaming", "verifying", "repairing"})
_FINAL = frozenset({"idle", "done", "stopped", "failed"})

NEXT: dict[str, frozenset[str]] = {
    "connecting": frozenset({"streaming", "failed", "stopped", "done"}),
    "streaming": frozenset({"verifying", "repairing", "done", "stopped", "failed"}),
    # a repair re-verifies each attempt but stays "repairing" until it ends
    "verifying": frozenset({"repairing", "done", "stopped", "failed"}),
    "repairing": frozenset({"done", "stopped", "failed"}),
    **{final: frozenset({"connecting", "repairing"}) for final in _FINAL},
}


class RequestState:
    """A tiny state machine; an out-of-order step is logged and ignored, never raised
    (it arrives from pipeline callbacks, where an exception would break the request)."""

    def __init__(self, on_change: Callable[[str, str], None] | None = None) -> None:
        self.phase = "idle"
        self.trail: list[str] = ["idle"]      # every phase entered, for tests and logs
        self.on_change = on_change

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    def can(self, phase: str) -> bool:
        return phase == self.phase or phase in NEXT[self.phase]

    def advance(self, phase: str) -> bool:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        if phase == self.phase:
            return True
        if phase not in NEXT[self.phase]:
            log.warning("request state: ignored %s -> %s", self.phase, phase)
            return False
        old, self.phase = self.phase, phase
        self.trail.append(phase)
        if self.on_change is not None:
            self.on_change(old, phase)
        return True
