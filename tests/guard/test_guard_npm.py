"""The seed user's Node app (openai npm `OpenAIRealtimeWS`, OpenAI and Azure forms) through Guard."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.audio.codecs import decode, get_format
from app.engine import seed_cases

from .conftest import ENGINE_KEY, NPM_DIR

pytestmark = pytest.mark.npm


async def node_app(form: str, base: str, cert: Path, fmt: str, case: str) -> dict:
    meta = json.dumps({"verbatim_fault": json.dumps({"case": case})})
    proc = await asyncio.create_subprocess_exec(
        shutil.which("node"), "guard_app.mjs", form, base, ENGINE_KEY, fmt, meta, cwd=NPM_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)})
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


@pytest.mark.parametrize("form", ["azure", "openai"])
async def test_node_app_gets_audio_that_says_the_whole_transcript(engine, make_guard, worker, tls, form):
    cert, ctx = tls
    case, fmt = "truncated-1", "g711_ulaw"
    guard = await make_guard("repair", ssl_context=ctx)
    got = await node_app(form, guard.http_url, cert, fmt, case)
    transcript = seed_cases()[case]["transcript"]
    assert got["status"] == "completed" and got["transcript"] == transcript
    assert got["types"][0] == "session.created" and got["types"][-1] == "response.done"
    pcm = np.array(decode(base64.b64decode(got["audio"]), fmt))
    report = worker.submit(transcript, pcm, get_format(fmt).sample_rate, "en").result(120)
    assert report.matches, [s.to_dict() for s in report.flagged_segments]


async def test_node_app_in_observe_mode_gets_the_engines_audio_byte_for_byte(engine, make_guard, tls):
    cert, ctx = tls
    guard = await make_guard("observe", ssl_context=ctx)
    got = await node_app("azure", guard.http_url, cert, "g711_ulaw", "drifted-1")
    sent = b"".join(base64.b64decode(e["delta"]) for e in engine.events if e["type"] == "response.audio.delta")
    assert base64.b64decode(got["audio"]) == sent and len(sent) > 8000
