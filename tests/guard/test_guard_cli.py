"""`python -m app guard` as a user runs it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .apps import run_app

ROOT = Path(__file__).resolve().parents[2]


def guard_cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "app", "guard", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("args,needle", [
    (["--upstream", "ftp://example"], "--upstream"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--host", "0.0.0.0"], "--api-key"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--port", "70000"], "--port"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--upstream-timeout", "0"], "--upstream-timeout"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--tls-cert", "x.pem"], "--tls-key"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--language", "klingon"], "klingon"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--append-only"], "--mode repair"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--per-client", "0"], "--per-client"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--idle-timeout", "0"], "--idle-timeout"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--handshake-timeout", "0"], "--handshake-timeout"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--response-mb", "30"], "--connection-mb"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--trusted-proxy", "nginx.local", "--no-history"], "--trusted-proxy"),
    (["--upstream", "ws://127.0.0.1:1/v1", "--mode", "repair", "--append-only", "--hold"], "contradict"),
])
def test_bad_arguments_exit_2_with_a_clear_message(args, needle):
    r = guard_cli(*args)
    assert r.returncode == 2 and needle in r.stderr, r.stderr


async def test_guard_cli_repairs_a_truncated_answer_and_prints_each_verdict(engine):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "guard", "--port", "0", "--json", "--mode", "repair", "--no-history",
        "--upstream", engine.url, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        assert info["url"].startswith("ws://127.0.0.1:") and info["mode"] == "repair"
        assert info["repair"] == "replace"      # the default: drift is replaced too
        run = await run_app(info["url"], fault={"case": "truncated-2"}, voice="alloy")
        assert run.types[-1] == "response.done"
        line = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        assert line["response_id"] == run.response["id"]
        assert line["status"] == "repaired" and line["appended_text"] == "I didn't know that existed.", line
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
