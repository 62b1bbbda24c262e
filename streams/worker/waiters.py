"""Read-your-writes for the query API: wait until a delivery ingest acked is in a state.

ingest answers each webhook with its delivery id; `GET /orders/{id}?delivery=<id>&wait=<s>`
answers as soon as the worker folded that delivery into the order, instead of the client
polling (polls cost the worker a request each and add up to a poll interval of error). The fold
loop calls `folded` once per batch, after the batch's state is written and its records acked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from schemas.errors import HooklogError

DELIVERY_ID = re.compile(r"[0-9a-f]{32}")
MAX_WAIT_S = 30.0


class TooManyWaitersError(HooklogError):
    """More requests are waiting than the worker keeps; the client should retry later."""


class FoldWaiters:
    """Futures keyed by (projection, aggregate id, delivery id), resolved when it is folded."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._waiting: dict[tuple[str, str, str], list[asyncio.Future[None]]] = {}
        self._count = 0

    def __bool__(self) -> bool:
        return self._count > 0

    @contextmanager
    def expecting(self, projection: str, key: str, delivery: str) -> Iterator[asyncio.Future[None]]:
        """A future resolved when `delivery` is folded into (projection, key). Register before
        reading the state, in the same step, so that no fold slips between read and wait."""
        if self._count >= self.limit:
            raise TooManyWaitersError(f"{self._count} requests are already waiting for folds; retry shortly")
        slot = (projection, key, delivery)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(slot, []).append(future)
        self._count += 1
        try:
            yield future
        finally:
            self._forget(slot, future)

    def _forget(self, slot: tuple[str, str, str], future: asyncio.Future[None]) -> None:
        futures = self._waiting.get(slot)
        if futures is not None and future in futures:
            futures.remove(future)
            self._count -= 1
            if not futures:
                del self._waiting[slot]

    def folded(self, done: Iterable[tuple[str, str, str]]) -> None:
        """Wake every request waiting for one of these (projection, key, delivery)."""
        for slot in done:
            for future in self._waiting.get(slot, ()):
                if not future.done():
                    future.set_result(None)


def holds_delivery(stored: bytes | None, delivery: str) -> bool:
    """Does a state's history name this delivery (it was folded before the request came)?"""
    return stored is not None and b'"deliveryId":"' + delivery.encode() + b'"' in stored
