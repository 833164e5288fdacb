"""Driving coroutines from synchronous tests (the qasync loop of the window tests, or any loop)."""

from __future__ import annotations

import asyncio


def run(loop, coro, timeout=120):
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


async def until(predicate, timeout=60.0, step=0.02):
    t = 0.0
    while not predicate():
        await asyncio.sleep(step)
        t += step
        if t > timeout:
            raise AssertionError("condition not reached in time")
