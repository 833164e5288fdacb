"""What each response really said (ground truth, with its fault record), within byte budgets.

A response's record is a live dict while it streams; when it ends it is sealed into its JSON
bytes, which are what it costs and what `/verbatim/ground-truth/<id>` returns. Sealed records
outlive their session (tests and benches read them after closing), but never past the budgets:
the oldest are dropped first, per session and over the whole engine."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

MAX_TRUTH = 500                  # responses whose ground truth is kept, all sessions together
TRUTH_SESSION_BYTES = 16 << 20   # JSON bytes of sealed ground truth kept for one session
TRUTH_TOTAL_BYTES = 64 << 20     # JSON bytes of sealed ground truth kept for the whole engine


class TruthStore:
    def __init__(self, session_bytes: int = TRUTH_SESSION_BYTES, total_bytes: int = TRUTH_TOTAL_BYTES,
                 max_count: int = MAX_TRUTH) -> None:
        self.session_bytes, self.total_bytes, self.max_count = session_bytes, total_bytes, max_count
        self._live: dict[str, dict[str, Any]] = {}
        self._sealed: OrderedDict[str, tuple[str, bytes]] = OrderedDict()   # id -> (session, JSON), oldest first
        self._per_session: dict[str, int] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._live) + len(self._sealed)

    def __contains__(self, response_id: str) -> bool:
        return response_id in self._live or response_id in self._sealed

    def keep(self, response_id: str, truth: dict[str, Any]) -> None:
        """A response starts: its record stays live (it grows as the response streams)."""
        self._live[response_id] = truth

    def seal(self, session: str, response_id: str) -> None:
        """A response ended: keep its record as JSON, then drop the oldest past the budgets."""
        truth = self._live.pop(response_id, None)
        if truth is None:
            return
        data = json.dumps(truth, ensure_ascii=False, separators=(",", ":")).encode()
        self._sealed[response_id] = (session, data)
        self.bytes += len(data)
        self._per_session[session] = self._per_session.get(session, 0) + len(data)
        if self._per_session[session] > self.session_bytes:
            for rid in [r for r, (s, _) in self._sealed.items() if s == session]:
                if self._per_session[session] <= self.session_bytes:
                    break
                self._drop(rid)
        while self._sealed and (self.bytes > self.total_bytes or len(self) > self.max_count):
            self._drop(next(iter(self._sealed)))

    def get(self, response_id: str) -> dict[str, Any] | None:
        live = self._live.get(response_id)
        if live is not None:
            return live
        sealed = self._sealed.get(response_id)
        return json.loads(sealed[1]) if sealed is not None else None

    @property
    def live(self) -> int:
        """Records of responses still streaming (not yet counted against the budgets)."""
        return len(self._live)

    def session_size(self, session: str) -> int:
        return self._per_session.get(session, 0)

    def _drop(self, response_id: str) -> None:
        session, data = self._sealed.pop(response_id)
        self.bytes -= len(data)
        left = self._per_session[session] - len(data)
        if left:
            self._per_session[session] = left
        else:
            del self._per_session[session]
