"""Probes of issue 24: keys that are not ASCII, short keys off loopback, and guessing."""

from __future__ import annotations

import pytest

from app.guard import Guard, GuardError
from tests.helpers.servers import free_port

from .rawhttp import raw_upgrade

GUARD_KEY = "guard-key-0123456789"
STORED_KEY = "sk-stored-SERVICEKEY-abcdef123456"


# --- 4. keys that are not ASCII -------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["clé-guard-0123456789".encode(), b"\xff\xfe\x80garbage-bytes-here"])
async def test_a_non_ascii_key_is_refused_with_401_not_500(guards, key):
    guard = await guards(f"ws://127.0.0.1:{free_port()}/v1", api_keys={GUARD_KEY}, upstream_key=STORED_KEY)
    status, data = await raw_upgrade(guard, key)
    assert status == 401 and b"Traceback" not in data and b"TypeError" not in data


async def test_a_non_ascii_guard_key_is_compared_as_utf8(guards):
    guard = await guards(f"ws://127.0.0.1:{free_port()}/v1", api_keys={"clé-guard-0123456789"}, upstream_key="k")
    status, _ = await raw_upgrade(guard, "clé-guard-0123456789".encode())
    assert status == 502        # accepted; the (absent) service is what fails


# --- 5. short keys off loopback, and guessing ---------------------------------------------------------------
def test_off_loopback_guard_keys_must_be_16_characters():
    with pytest.raises(GuardError, match="16"):
        Guard("ws://127.0.0.1:1/v1", host="0.0.0.0", api_keys={"a"}, verify=False)
    Guard("ws://127.0.0.1:1/v1", host="0.0.0.0", api_keys={GUARD_KEY}, verify=False)
    Guard("ws://127.0.0.1:1/v1", api_keys={"short"}, verify=False)    # loopback: the user's own choice


def test_backoff_grows_after_repeated_failures_and_a_success_clears_it():
    from app.guard.upstream import Backoff

    now = [100.0]
    b = Backoff(after=5, base_s=1.0, max_s=60.0, clock=lambda: now[0])
    for _ in range(5):
        assert b.wait_s("1.2.3.4") == 0
        b.failed("1.2.3.4")
    first = b.wait_s("1.2.3.4")
    assert first == pytest.approx(1.0) and b.wait_s("5.6.7.8") == 0     # per address
    now[0] += first
    assert b.wait_s("1.2.3.4") == 0
    b.failed("1.2.3.4")
    assert b.wait_s("1.2.3.4") == pytest.approx(2.0)                       # growing
    for _ in range(20):
        now[0] += 1000
        b.failed("1.2.3.4")
    assert b.wait_s("1.2.3.4") == pytest.approx(60.0)                      # capped
    b.succeeded("1.2.3.4")
    assert b.wait_s("1.2.3.4") == 0


async def test_guessing_guards_key_gets_429_with_retry_after(guards):
    guard = await guards(f"ws://127.0.0.1:{free_port()}/v1", api_keys={GUARD_KEY}, upstream_key=STORED_KEY)
    now = [0.0]
    guard.access.backoff.clock = lambda: now[0]
    statuses = [(await raw_upgrade(guard, b"wrong-guess-%d" % i))[0] for i in range(5)]
    assert statuses == [401] * 5
    status, data = await raw_upgrade(guard, GUARD_KEY.encode())      # even the right key waits now
    assert status == 429 and b"\r\nretry-after: " in data.lower()
    now[0] += 3600
    status, _ = await raw_upgrade(guard, GUARD_KEY.encode())
    assert status == 502      # let through again: the (absent) service is what fails


def test_the_cli_refuses_a_short_key_off_loopback():
    from .test_guard_cli import guard_cli

    r = guard_cli("--upstream", "ws://127.0.0.1:1/v1", "--host", "0.0.0.0", "--api-key", "a")
    assert r.returncode == 2 and "16 characters" in r.stderr, r.stderr
