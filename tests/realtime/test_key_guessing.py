"""Guessing the local engine's key is slowed down, and a key off loopback is long (issue 24:
`--host 0.0.0.0 --api-key a` was accepted, and ~2,000 guesses/s met no back-off)."""

import subprocess
import sys

import websockets

from app.engine import LocalEngine


async def status(engine, key):
    try:
        async with websockets.connect(engine.url + "/realtime?model=gpt-realtime",
                                      additional_headers={"Authorization": f"Bearer {key}"}):
            return 101, None
    except websockets.InvalidStatus as exc:
        return exc.response.status_code, exc.response.headers.get("Retry-After")


async def test_after_five_wrong_keys_even_the_right_one_waits_and_then_clears():
    clock = [1000.0]
    async with LocalEngine(api_keys={"right-key-long-enough"}, translator=None) as eng:
        eng.backoff.clock = lambda: clock[0]
        for _ in range(5):
            assert (await status(eng, "guess"))[0] == 401
        code, retry = await status(eng, "right-key-long-enough")
        assert code == 429 and int(retry) >= 1          # the key is not even looked at yet
        clock[0] += 1.5                                 # the wait is over
        assert (await status(eng, "right-key-long-enough"))[0] == 101
        assert (await status(eng, "guess"))[0] == 401   # a right key cleared the count


def test_serve_refuses_a_short_key_off_loopback():
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", "--api-key", "a"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "at least 16 characters" in r.stderr
