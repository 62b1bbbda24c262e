"""Requests waiting to read their own write are woken by the fold of exactly their delivery."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker.waiters import FoldWaiters, TooManyWaitersError, holds_delivery

pytestmark = pytest.mark.unit
D1, D2 = "a" * 32, "b" * 32


async def test_a_fold_wakes_only_the_requests_waiting_for_that_delivery() -> None:
    waiters = FoldWaiters()
    with waiters.expecting("orders", "o-1", D1) as one, waiters.expecting("orders", "o-1", D2) as two, \
            waiters.expecting("kyc", "o-1", D1) as other_table:
        assert waiters
        waiters.folded([("orders", "o-1", D1)])
        await asyncio.sleep(0)
        assert one.done() and not two.done() and not other_table.done()
    assert not waiters  # leaving the block forgets every registration


async def test_the_limit_refuses_more_waiters_and_frees_on_exit() -> None:
    waiters = FoldWaiters(limit=1)
    with waiters.expecting("orders", "o-1", D1):
        with pytest.raises(TooManyWaitersError, match="retry"), waiters.expecting("orders", "o-2", D1):
            pass
    with waiters.expecting("orders", "o-2", D1) as future:
        assert not future.done()


def test_a_state_holds_a_delivery_only_by_its_exact_id() -> None:
    state = b'{"history":[{"deliveryId":"' + D1.encode() + b'"}]}'
    assert holds_delivery(state, D1) and not holds_delivery(state, D2) and not holds_delivery(None, D1)
    assert not holds_delivery(state, D1[:31])
