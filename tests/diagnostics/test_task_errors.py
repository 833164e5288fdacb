import asyncio
import gc
import logging

import pytest

from app.diagnostics import task_errors
from app.ui.launch import watch_task_failures


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()
    task_errors._listeners.clear()


async def fail():
    raise RuntimeError("upstream refused key sk-live-SECRETSECRET123")


def forgotten_failure(loop):
    """A task that fails and that nobody awaits (the bug this handler exists for)."""
    task = loop.create_task(fail(), name="history-save")
    loop.run_until_complete(asyncio.sleep(0.01))
    del task
    gc.collect()                               # "Task exception was never retrieved" fires here
    loop.run_until_complete(asyncio.sleep(0.01))


def test_an_unawaited_task_failure_is_logged_and_shown(loop, caplog):
    shown = []
    watch_task_failures(loop, shown.append)     # what the app does with window.show_error
    with caplog.at_level(logging.ERROR, logger="verbatim.tasks"):
        forgotten_failure(loop)
    assert len(shown) == 1
    assert "RuntimeError" in shown[0] and "upstream refused key" in shown[0]
    assert "SECRETSECRET" not in shown[0]
    record = next(r for r in caplog.records if r.name == "verbatim.tasks")
    assert "history-save" in record.getMessage()
    assert record.exc_info and record.exc_info[0] is RuntimeError


def test_a_failing_listener_does_not_stop_the_others(loop):
    shown = []
    task_errors.install(loop)
    task_errors.add_listener(lambda text: 1 / 0)
    task_errors.add_listener(shown.append)
    forgotten_failure(loop)
    assert len(shown) == 1


def test_cancelled_and_awaited_tasks_show_nothing(loop):
    shown = []
    watch_task_failures(loop, shown.append)

    async def flow():
        t = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(RuntimeError):
            await fail()                          # handled by its caller
        await asyncio.sleep(0.01)

    loop.run_until_complete(flow())
    gc.collect()
    loop.run_until_complete(asyncio.sleep(0.01))
    assert shown == []


def test_a_removed_listener_is_not_called(loop):
    shown = []
    task_errors.install(loop)
    remove = task_errors.add_listener(shown.append)
    remove()
    forgotten_failure(loop)
    assert shown == []
