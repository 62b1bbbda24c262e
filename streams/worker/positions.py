"""How far this worker has folded each raw partition, and requests waiting for a position.

The fold loop calls `advanced` once per batch, after the batch's states are written and its
records acked (the same point `?delivery=` waiters are woken): from then on a state read from that
partition holds every raw record before `folded_to(partition)` (Kafka's "next offset": the
first record not yet folded). What the worker folded before this process, or another worker
before a takeover, is counted by the committed offset (streams/api/freshness.py takes the larger).
`?min_position=<partition>:<offset>` waits here until the partition has folded past the offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from streams.worker.waiters import TooManyWaitersError


class FoldedPositions:
    """partition -> the next raw offset to fold here; futures woken once a partition passes one."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._next: dict[int, int] = {}
        self._waiting: dict[int, list[tuple[int, asyncio.Future[None]]]] = {}

    def folded_to(self, partition: int) -> int | None:
        return self._next.get(partition)

    def advanced(self, ranges: Mapping[int, tuple[int, int]]) -> None:
        """A batch holding raw offsets `lo..hi` of each partition landed: wake who waited for them."""
        for partition, (_lo, hi) in ranges.items():
            reached = max(self._next.get(partition, 0), hi + 1)
            self._next[partition] = reached
            waiting = self._waiting.get(partition, [])
            for offset, future in [w for w in waiting if w[0] < reached]:
                if not future.done():
                    future.set_result(None)
            self._waiting[partition] = [w for w in waiting if w[0] >= reached]

    async def wait_past(self, partition: int, offset: int, timeout_s: float) -> bool:
        """True once `partition` has folded the record at `offset` (within `timeout_s`)."""
        if (self._next.get(partition) or 0) > offset:
            return True
        if sum(len(w) for w in self._waiting.values()) >= self.limit:
            raise TooManyWaitersError(f"{self.limit} requests are already waiting for positions; retry shortly")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        slot = (offset, future)
        self._waiting.setdefault(partition, []).append(slot)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._waiting.get(partition, [])
            if slot in waiting:
                waiting.remove(slot)
