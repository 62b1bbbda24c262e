"""How far each partition folded, and waiting for a position (streams/worker/positions.py)."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker.positions import FoldedPositions
from streams.worker.waiters import TooManyWaitersError

pytestmark = pytest.mark.unit


async def test_a_batch_moves_its_partitions_and_wakes_who_waited_for_them() -> None:
    positions = FoldedPositions()
    assert positions.folded_to(0) is None
    waiting = asyncio.ensure_future(positions.wait_past(0, 5, 5.0))
    other = asyncio.ensure_future(positions.wait_past(1, 0, 5.0))
    await asyncio.sleep(0)
    positions.advanced({0: (0, 4)})  # offsets 0..4: offset 5 not folded yet
    await asyncio.sleep(0)
    assert positions.folded_to(0) == 5 and not waiting.done()
    positions.advanced({0: (5, 5)})
    assert await waiting is True and not other.done()
    positions.advanced({0: (2, 3)})  # a re-fold of older records never moves it back
    assert positions.folded_to(0) == 6
    assert await positions.wait_past(0, 5, 0) is True  # already past: no wait
    assert await positions.wait_past(1, 0, 0.01) is False  # not folded within the wait
    other.cancel()


async def test_waiters_are_limited() -> None:
    positions = FoldedPositions(limit=1)
    first = asyncio.ensure_future(positions.wait_past(0, 1, 5.0))
    await asyncio.sleep(0)
    with pytest.raises(TooManyWaitersError):
        await positions.wait_past(0, 2, 5.0)
    positions.advanced({0: (0, 1)})
    assert await first is True
