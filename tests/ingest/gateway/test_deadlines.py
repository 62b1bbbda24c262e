"""The ack deadlines' one timer: a pending future fails at its deadline, a done one is left alone."""

from __future__ import annotations

import asyncio
import time

import pytest

from ingest.gateway.deadlines import Deadlines

pytestmark = pytest.mark.unit


async def test_a_future_still_pending_at_its_deadline_gets_timeout_error() -> None:
    deadlines, loop = Deadlines(tick_s=0.01), asyncio.get_running_loop()
    late, answered = loop.create_future(), loop.create_future()
    deadlines.watch(answered, time.monotonic() + 0.05)
    deadlines.watch(late, time.monotonic() + 0.05)
    answered.set_result("acked")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(late, 2.0)
    assert answered.result() == "acked"
    while len(deadlines):  # the done one is dropped by a sweep, then the timer stops
        await asyncio.sleep(0.01)


async def test_a_later_deadline_is_not_failed_early() -> None:
    deadlines, loop = Deadlines(tick_s=0.01), asyncio.get_running_loop()
    soon, later = loop.create_future(), loop.create_future()
    deadlines.watch(soon, time.monotonic() + 0.02)
    deadlines.watch(later, time.monotonic() + 10)
    with pytest.raises(TimeoutError):
        await soon
    assert not later.done()
    later.set_result(None)
    deadlines.cancel()
    assert len(deadlines) == 0


async def test_a_cancelled_awaiter_leaves_nothing_to_fail() -> None:
    deadlines, loop = Deadlines(tick_s=0.01), asyncio.get_running_loop()
    future = loop.create_future()
    deadlines.watch(future, time.monotonic() + 0.02)
    waiter = asyncio.ensure_future(future)
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert future.cancelled()
    while len(deadlines):
        await asyncio.sleep(0.01)
