"""Whether the fold loop is advancing: what `/readyz` says besides Faust's own flags.

A batch that fails is retried (streams/worker/fold_loop.py); meanwhile its partitions cannot
advance, and the worker says `failing` rather than `ready`, with the reason. So it does when a
batch's writes have waited on the broker longer than `STALL_S`: a send the broker keeps refusing
with a retriable error (too few in-sync replicas, a leader away) is retried inside the producer
for up to its request timeout (Faust's 1200 s) before it fails, and the partition stands still
all that while.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: How long a batch's writes may wait on the broker before the worker says `failing`.
STALL_S = 15.0


def where(ranges: dict[int, tuple[int, int]]) -> str:
    """`partition 0 offsets 3-9, partition 1 offsets …`: where a batch lies, for logs and answers."""
    return ", ".join(f"partition {p} offsets {lo}-{hi}" for p, (lo, hi) in sorted(ranges.items()))


@dataclass
class FoldHealth:
    """`reason` is None while batches land; else why a batch could not (and where)."""

    failure: str | None = None
    fatal: bool = False
    stall_s: float = STALL_S
    clock: Callable[[], float] = time.monotonic
    _delivering: tuple[float, dict[int, tuple[int, int]]] | None = field(default=None, repr=False)

    @property
    def reason(self) -> str | None:
        """The failure, else a delivery waiting longer than `stall_s`, else None."""
        if self.failure is not None or self._delivering is None:
            return self.failure
        since, ranges = self._delivering
        waited = self.clock() - since
        if waited <= self.stall_s:
            return None
        return (f"the batch at {where(ranges)} has waited {waited:.0f}s for the broker to acknowledge "
                "its writes (see the worker's log and the broker's health)")

    def failing(self, ranges: dict[int, tuple[int, int]], cause: BaseException) -> None:
        self.failure = f"retrying the batch at {where(ranges)}: {type(cause).__name__}: {cause}"

    def failed(self, reason: str) -> None:
        self.failure, self.fatal = reason, True

    def recovered(self) -> None:
        if not self.fatal:
            self.failure = None

    def delivering(self, ranges: dict[int, tuple[int, int]]) -> None:
        """A batch's writes are on their way (cleared by `delivered`)."""
        self._delivering = (self.clock(), ranges)

    def delivered(self) -> None:
        self._delivering = None
