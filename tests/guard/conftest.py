import pytest

from app.engine import LocalEngine
from app.guard import Guard

ENGINE_KEY = "sk-engine-guard-test"


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
