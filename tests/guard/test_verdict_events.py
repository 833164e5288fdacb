"""`verdict_events`: Guard tells the app each response's verdict in a `verbatim.verdict`
event, after that response's `response.done`, and only when asked (an event type the
service never sends). Both SDKs must take it in stride."""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from app.engine import seed_cases

from .apps import connection, response_params, session_update
from .conftest import ENGINE_KEY, NPM_DIR
from .test_guard_sdk import VOICE, verdicts

CASE = "truncated-2"
META = {"verbatim_source": "en", "verbatim_target": "en", "verbatim_mode": "read",
        "verbatim_fault": json.dumps({"case": CASE})}


async def python_app(url: str, *, after_done_s: float | None = None) -> tuple[list, list[str]]:
    """The openai SDK's own event parsing (`async for ev in conn`) until the verdict event, or
    with `after_done_s`, what comes that long after `response.done`; returns (events, types)."""
    manager, flavor = connection(url, "ga")
    events = []
    async with manager as conn:
        await conn.session.update(session=session_update(flavor, "pcm16", VOICE))
        await conn.response.create(response=response_params(flavor, "anything", META))
        async with asyncio.timeout(60):
            async for ev in conn:
                events.append(ev)
                if ev.type == "verbatim.verdict":
                    break
                if ev.type == "response.done" and after_done_s is not None:
                    try:
                        async with asyncio.timeout(after_done_s):
                            events.append(await conn.recv())
                    except TimeoutError:
                        pass
                    break
    return events, [e.type for e in events]


@pytest.mark.parametrize("mode", ["observe", "repair"])
async def test_the_python_sdk_receives_the_verdict_after_response_done(engine, make_guard, mode):
    guard = await make_guard(mode, verdict_events=True, language="en")
    events, types = await python_app(guard.url)
    assert types[-1] == "verbatim.verdict" and types.index("response.done") == len(types) - 2
    done, verdict = events[-2], events[-1]
    [got] = await verdicts(guard)
    assert verdict.response_id == done.response.id == got.response_id
    assert verdict.status == got.status == ("repaired" if mode == "repair" else "mismatch")
    assert verdict.mode == mode
    # flagged: what was wrong with the service's audio; appended_text: what Guard voiced for it
    assert [f["status"] for f in verdict.flagged] == seed_cases()[CASE]["expected"][-1:]
    if mode == "repair":
        assert verdict.appended_text == "I didn't know that existed."


async def test_without_the_option_nothing_follows_response_done(engine, make_guard):
    guard = await make_guard("observe", language="en")
    events, types = await python_app(guard.url, after_done_s=3.0)
    assert types[-1] == "response.done"
    assert len(await verdicts(guard)) == 1       # the verdict was made, and not sent


NODE_APP = r"""
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
const [base, apiKey, metadata] = process.argv.slice(1);
const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime' }, new OpenAI({ apiKey, baseURL: `${base}/v1` }));
const types = [];
const timer = setTimeout(() => { console.error('timeout'); process.exit(3); }, 60000);
rt.on('event', (ev) => types.push(ev.type));
rt.on('error', (err) => { console.error('error', err?.message || err); process.exit(2); });
rt.socket.on('open', () => {
  rt.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'],
    audio: { output: { format: { type: 'audio/pcmu' }, voice: 'alloy' } } } });
  rt.send({ type: 'response.create', response: { conversation: 'none', output_modalities: ['audio'],
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'anything' }] }],
    metadata: JSON.parse(metadata) } });
});
rt.on('verbatim.verdict', (ev) => {
  clearTimeout(timer);
  rt.close();
  process.stdout.write(JSON.stringify({ types, verdict: ev }) + '\n', () => process.exit(0));
});
"""


@pytest.mark.npm
async def test_the_npm_client_receives_the_verdict_as_an_ordinary_event(engine, make_guard, tls):
    cert, ctx = tls
    guard = await make_guard("repair", verdict_events=True, language="en", ssl_context=ctx)
    proc = await asyncio.create_subprocess_exec(
        shutil.which("node"), "--input-type=module", "-e", NODE_APP, guard.http_url, ENGINE_KEY, json.dumps(META),
        cwd=NPM_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)})
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    got = json.loads(out)
    assert got["types"][-2:] == ["response.done", "verbatim.verdict"]
    assert got["verdict"]["status"] == "repaired" and got["verdict"]["appended_text"] == "I didn't know that existed."
