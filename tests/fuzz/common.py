"""Shared by the fuzz targets: JSON strategies, the probes' payloads, a budget and a loop thread.

The budget is fixed and derandomized in CI (the same cases on every machine, so a run never
passes or fails by luck); `VERBATIM_FUZZ_EXAMPLES=20000 VERBATIM_FUZZ_RANDOM=1` makes a
longer, random local run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from hypothesis import HealthCheck, example, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("VERBATIM_FUZZ_EXAMPLES", "2000"))
BUDGET = settings(max_examples=EXAMPLES, deadline=None, database=None,
                  derandomize=not os.environ.get("VERBATIM_FUZZ_RANDOM"),
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much])

leaf = (st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats(allow_nan=False)
        | st.text(max_size=40) | st.sampled_from(["", "0", "-1", "1e309", "audio/pcm", "none", "auto"]))
json_values = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=24)

DEEP = 100_000
# Payloads of the probes: parsers must answer them, not crash.
PROBE_PAYLOADS = [
    "[" * DEEP + "]" * DEEP,
    '{"type": "session.update", "session": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}",
    '{"type": "conversation.item.create", "item": ' + "[" * DEEP + "]" * DEEP + "}",
    "{not json",
    b"\xff\xfe\x00binary",
    '{"type": "\\u0000"}',
    '{"type": "session.update", "event_id": "' + "e" * 100_000 + '"}',
    '{"type": 7}',
    "null",
    '"just a string"',
    '{"type": "response.create", "response": {"metadata": {"verbatim_fault": "' + "{" * 5000 + '"}}}',
    '{"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": '
    '[{"type": "input_text", "text": "' + "x" * 200_000 + '"}]}}',
]


def seeded(name: str, values):
    """Run the property on each of `values` (as argument `name`) before the generated cases."""
    def apply(test):
        for value in reversed(list(values)):
            test = example(**{name: value})(test)
        return test
    return apply


def mutations(template: dict) -> st.SearchStrategy:
    """`template` with one value replaced by any JSON, one key removed, or one key added."""
    paths = list(_paths(template))

    def apply(choice):
        kind, path, value, key = choice
        import copy

        ev = copy.deepcopy(template)
        parent, last = _walk(ev, path)
        if kind == "replace" and parent is not None:
            parent[last] = value
        elif kind == "drop" and isinstance(parent, dict) and last != "type":
            parent.pop(last, None)
        elif kind == "add":
            target = parent[last] if parent is not None and isinstance(parent[last], dict) else ev
            target[key] = value
        return ev

    return st.tuples(st.sampled_from(["replace", "drop", "add"]), st.sampled_from(paths), json_values,
                     st.text(max_size=12)).map(apply)


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _walk(obj, path):
    parent = None
    for p in path:
        parent, obj = obj, obj[p]
    return parent, (path[-1] if path else None)


class LoopThread:
    """One event loop on a thread of its own, so servers live across hypothesis examples."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Tracebacks(logging.Handler):
    """Records logged with a traceback (or at ERROR) under a logger: a property violation."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.logger = logging.getLogger(name)

    def __enter__(self):
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def take(self) -> list[str]:
        out = [f"{r.name}: {r.getMessage()}" for r in self.records]
        self.records.clear()
        return out
