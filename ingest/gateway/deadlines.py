"""One timer for every request's acknowledgement deadline, instead of an `asyncio.timeout` each.

A per-request `asyncio.timeout` schedules and cancels a loop timer (a heap push and a
cancellation) per request. Every ack wait has the same timeout, so deadlines expire in the
order they were set: a FIFO and one sweep every `tick_s` while any is pending does the same
job. A future still pending at its deadline gets `TimeoutError` (its awaiter raises it, as
`asyncio.timeout` would have); one done before is dropped at the next sweep. Deadlines fire up
to `tick_s` late.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any


class Deadlines:
    """`watch(future, deadline)`: fail `future` with TimeoutError if still pending at `deadline`
    (`time.monotonic()` seconds). Watched out of order, a deadline fires no later than the
    one watched before it."""

    def __init__(self, tick_s: float = 0.05) -> None:
        self._tick_s = tick_s
        self._pending: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def watch(self, future: asyncio.Future[Any], deadline: float) -> None:
        self._pending.append((deadline, future))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._tick_s, self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        pending, now = self._pending, time.monotonic()
        while pending:
            deadline, future = pending[0]
            if not future.done():
                if deadline > now:
                    break
                future.set_exception(TimeoutError())
            pending.popleft()
        if pending:
            self._timer = asyncio.get_running_loop().call_later(self._tick_s, self._sweep)

    def cancel(self) -> None:
        """Stop the timer (the loop is closing); pending futures are left as they are."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()
