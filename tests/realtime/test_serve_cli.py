"""`python -m app serve` answers the official SDKs: openai-python and the npm OpenAIRealtimeWS."""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from openai import AsyncOpenAI

ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / "tests" / "npm"


KEY_LINE = "API key for this run: "


def start_serve(*extra):
    """Start `serve --json`; returns (process, the JSON it printed, the generated key or None)."""
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", "0", "--json", "--voice", "verse", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise AssertionError("serve printed nothing: " + proc.stderr.read())
    info = json.loads(line)
    key = None
    if "--api-key" not in extra:   # the generated key and a usable URL come on stderr, before the JSON
        err = [proc.stderr.readline(), proc.stderr.readline()]
        assert err[0].startswith(KEY_LINE), err
        key = err[0][len(KEY_LINE):].strip()
        assert f'websocket_base_url="{info["url"]}"' in err[1], err
    return proc, info, key


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


async def test_openai_python_sdk_completes_a_request_against_serve():
    proc, info, key = start_serve()
    try:
        assert info["url"].startswith("ws://127.0.0.1:")
        assert len(key) >= 40 and key not in json.dumps(info)   # random, and only on stderr
        client = AsyncOpenAI(api_key=key, websocket_base_url=info["url"])
        audio = bytearray()
        transcript = ""
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(session={"type": "realtime", "output_modalities": ["audio"]})
            await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                      "content": [{"type": "input_text", "text": "Good evening."}]})
            await conn.response.create(response={"conversation": "none", "output_modalities": ["audio"],
                                                 "metadata": {"verbatim_source": "en", "verbatim_target": "en"}})
            async for ev in conn:
                if ev.type == "response.output_audio.delta":
                    audio += base64.b64decode(ev.delta)
                elif ev.type == "response.output_audio_transcript.delta":
                    transcript += ev.delta
                elif ev.type == "error":
                    raise AssertionError(ev.error.message)
                elif ev.type == "response.done":
                    assert ev.response.status == "completed"
                    break
        assert transcript == "Good evening."
        assert len(audio) / 2 / 24000 > 0.5
    finally:
        stop(proc)


def test_serve_rejects_a_bad_port_with_exit_2():
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--port", "70000"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--port" in r.stderr


@pytest.mark.npm
def test_npm_openai_realtime_ws_completes_a_request(tmp_path):
    if not (NPM_DIR / "node_modules" / "openai").is_dir():
        pytest.fail("the openai npm package is not installed: run `bash packaging/bootstrap.sh test`")
    node, openssl = shutil.which("node"), shutil.which("openssl")
    assert node and openssl, "node and openssl are installed by the test setup"
    # the npm client always uses wss://, so the engine serves TLS with a certificate made here
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"],
                   check=True, capture_output=True)
    proc, info, api_key = start_serve("--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert info["url"].startswith("wss://")
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(cert), "VERBATIM_API_KEY": api_key}
        r = subprocess.run([node, "translate.mjs", info["http"] + "/v1", "Buenas tardes. Gracias."], cwd=NPM_DIR,
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["status"] == "completed"
        assert out["transcript"] == "Buenas tardes. Gracias."
        assert out["audioBytes"] / 2 / 24000 > 1.0
        assert out["types"][0] == "session.created" and out["types"][-1] == "response.done"
    finally:
        stop(proc)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_serve_refuses_a_non_loopback_bind_without_an_api_key(host):
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--host", host, "--port", "0"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "--api-key" in r.stderr and host in r.stderr
    assert r.stdout == ""


async def test_serve_on_all_interfaces_with_a_key_prints_a_loopback_url_and_checks_the_key():
    from app.realtime import AuthError, ProviderConfig, RealtimeClient

    proc, info, generated = start_serve("--host", "0.0.0.0", "--api-key", "lan-key-123-sixteen")
    try:
        assert generated is None
        assert info["url"].startswith("ws://127.0.0.1:") and "0.0.0.0" not in json.dumps(info)
        wrong = RealtimeClient(ProviderConfig(provider="openai", api_key="lan-key-12", websocket_base_url=info["url"]))
        with pytest.raises(AuthError):
            await wrong.connect()
        right = RealtimeClient(ProviderConfig(provider="openai", api_key="lan-key-123-sixteen", websocket_base_url=info["url"]))
        assert (await right.connect()).engine == "verbatim-local"
        await right.close()
    finally:
        stop(proc)
    out, err = proc.communicate()
    assert "lan-key-123-sixteen" not in out + err     # a key the user chose is never echoed
