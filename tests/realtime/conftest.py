import pytest

from app.engine import LocalEngine


@pytest.fixture
async def engine():
    eng = LocalEngine(record_events=True, default_voice="verse")   # espeak: fast and deterministic
    await eng.start()
    yield eng
    await eng.stop()
