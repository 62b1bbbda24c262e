"""Whether the fold loop is advancing and the worker is still a member of its group: what
`/readyz` says besides Faust's own flags.

A batch that fails is retried (streams/worker/fold_loop.py); meanwhile its partitions cannot
advance, and the worker says `failing` rather than `ready`, with the reason. So it does when a
batch's writes have waited on the broker longer than `STALL_S`: a send the broker keeps refusing
with a retriable error (too few in-sync replicas, a leader away) is retried inside the producer
for up to its request timeout (Faust's 1200 s) before it fails, and the partition stands still
all that while. A worker that has not heard from its group coordinator within the session
timeout (`GroupContact`; the clock is floor/seam/aiokafka_coordinator.py) says `cut_off`: by then
the broker may have given its partitions to others, who fold what it cannot see.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streams.kafka.seam import last_heard

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
    _delivering: tuple[float, Callable[[], dict[int, tuple[int, int]]]] | None = field(default=None, repr=False)

    @property
    def reason(self) -> str | None:
        """The failure, else a delivery waiting longer than `stall_s`, else None."""
        if self.failure is not None or self._delivering is None:
            return self.failure
        since, ranges = self._delivering
        waited = self.clock() - since
        if waited <= self.stall_s:
            return None
        return (f"the batch at {where(ranges())} has waited {waited:.0f}s for the broker to acknowledge "
                "its writes (see the worker's log and the broker's health)")

    def failing(self, ranges: dict[int, tuple[int, int]], cause: BaseException) -> None:
        self.failure = f"retrying the batch at {where(ranges)}: {type(cause).__name__}: {cause}"

    def failed(self, reason: str) -> None:
        self.failure, self.fatal = reason, True

    def recovered(self) -> None:
        if not self.fatal:
            self.failure = None

    def delivering(self, ranges: Callable[[], dict[int, tuple[int, int]]]) -> None:
        """A batch's writes are on their way (cleared by `delivered`); `ranges` says where the
        batch lies, asked only once it has stalled (not on every batch of the hot path)."""
        self._delivering = (self.clock(), ranges)

    def delivered(self) -> None:
        self._delivering = None


@dataclass(frozen=True)
class GroupContact:
    """When this worker last heard from its group coordinator (`heard(group_id)`, monotonic, as
    sent) against the session timeout, on `clock`."""

    group_id: str
    session_timeout_s: float
    heard: Callable[[str], float | None] = last_heard
    clock: Callable[[], float] = time.monotonic

    def silent_s(self) -> float | None:
        """Seconds since the coordinator last answered (None: it never did)."""
        heard = self.heard(self.group_id)
        return None if heard is None else self.clock() - heard

    @property
    def cut_off(self) -> bool:
        """Past the session timeout without a word: the group may have moved on without us."""
        silent = self.silent_s()
        return silent is None or silent >= self.session_timeout_s

    @property
    def reason(self) -> str | None:
        """Why the worker is cut off, for `/readyz` (None: it is not)."""
        if not self.cut_off:
            return None
        silent = self.silent_s()
        heard = "never" if silent is None else f"not for {silent:.1f} s"
        return (f"the group coordinator answered {heard} (session timeout {self.session_timeout_s:g} s): "
                "the group may have handed this worker's partitions to others; it answers again once it rejoined")
