"""Whether the fold loop is advancing: what `/readyz` says besides Faust's own flags.

A batch that fails is retried (streams/worker/fold_loop.py); meanwhile its partitions cannot
advance, and the worker says `failing` rather than `ready`, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass


def where(ranges: dict[int, tuple[int, int]]) -> str:
    """`partition 0 offsets 3-9, partition 1 offsets …`: where a batch lies, for logs and answers."""
    return ", ".join(f"partition {p} offsets {lo}-{hi}" for p, (lo, hi) in sorted(ranges.items()))


@dataclass
class FoldHealth:
    """`reason` is None while batches land; else why a batch could not (and where)."""

    reason: str | None = None
    fatal: bool = False

    def failing(self, ranges: dict[int, tuple[int, int]], cause: BaseException) -> None:
        self.reason = f"retrying the batch at {where(ranges)}: {type(cause).__name__}: {cause}"

    def failed(self, reason: str) -> None:
        self.reason, self.fatal = reason, True

    def recovered(self) -> None:
        if not self.fatal:
            self.reason = None
