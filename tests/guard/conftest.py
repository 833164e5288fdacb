import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from app.engine import LocalEngine
from app.guard import Guard

ENGINE_KEY = "sk-engine-guard-test"
NPM_DIR = Path(__file__).resolve().parents[1] / "npm"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    if not (NPM_DIR / "node_modules" / "openai").is_dir():
        pytest.fail("the openai npm package is not installed: run `bash packaging/bootstrap.sh test`")
    openssl = shutil.which("openssl")
    assert shutil.which("node") and openssl, "node and openssl are installed by the test setup"
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    # the npm client always uses wss://, so Guard serves TLS with a certificate made here
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return cert, ctx


@pytest.fixture
async def engine():
    # the engine checks keys: everything the tests' apps send must reach it through Guard
    eng = LocalEngine(record_events=True, default_voice="verse", api_keys={ENGINE_KEY})
    await eng.start()
    yield eng
    await eng.stop()


@pytest.fixture(scope="session")
def worker():
    from app.verify.worker import VerifierWorker

    w = VerifierWorker()
    w.warm().result(300)
    yield w
    w.close()


@pytest.fixture
async def make_guard(engine, worker):
    started = []

    async def make(mode="observe", **kw):
        kw.setdefault("verifier", worker)
        g = Guard(kw.pop("upstream", engine.url), mode=mode, **kw)
        await g.start()
        started.append(g)
        return g

    yield make
    for g in started:
        await g.stop()


@pytest.fixture
async def guards():
    """Guards without the verifier (no engine, no model): for probes of the proxy itself."""
    started: list[Guard] = []

    async def make(upstream: str, **kw) -> Guard:
        g = Guard(upstream, verify=False, **kw)
        await g.start()
        started.append(g)
        return g

    yield make
    for g in started:
        await g.stop()
