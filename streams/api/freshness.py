"""How fresh a state answer is: the headers every answer from a key's owner carries.

- `Hooklog-Partition`: the raw partition of the key;
- `Hooklog-Offset`: the raw-log offset of that partition up to which the answering state has
  folded (Kafka's "next offset": every record before it is in the state, at least);
- `Hooklog-Lag`: the partition's end offset, as the worker last fetched it, minus that;
- `Hooklog-Worker`: the answering owner (its `HOOKLOG_WORKER_ID`, else its advertised URL).

The offset is the larger of what this process folded (streams/worker/positions.py) and the
group's committed offset (folded and committed by whoever held the partition before). It is a
lower bound: the headers are made right after the state was read, and a batch's states are in the
table a moment before its position moves. A forwarding worker passes them back unchanged
(streams/api/forward.py). `?max_lag=` and `?min_position=` read the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from collections.abc import Mapping

from faust.types import TP

from streams.api.routing import RETRY_AFTER_S
from streams.kafka.seam import committed_offset, started_consumer
from streams.worker.positions import FoldedPositions
from streams.worker.waiters import MAX_WAIT_S, TooManyWaitersError

PARTITION, OFFSET, LAG, WORKER = "Hooklog-Partition", "Hooklog-Offset", "Hooklog-Lag", "Hooklog-Worker"
HEADERS = (PARTITION, OFFSET, LAG, WORKER)
POSITION = re.compile(r"(\d{1,9}):(\d{1,19})")


class Position(NamedTuple):
    """A raw record's place: ingest's `"position": "<partition>:<offset>"`."""

    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


def parse_position(text: str) -> Position | None:
    """`<partition>:<offset>` -> Position; None for anything else."""
    match = POSITION.fullmatch(text)
    return Position(int(match[1]), int(match[2])) if match else None


class Bounds(NamedTuple):
    """What a state request asks of the answer's freshness: `?min_position=`, `?max_lag=`, `?wait=`."""

    position: Position | None = None
    max_lag: int | None = None
    wait_s: float = 0.0


class Unfresh(NamedTuple):
    """The answer a request's bounds get instead of the state."""

    status: int
    code: str
    detail: str
    retry_after_s: int | None = None


def read_bounds(query: Mapping[str, str]) -> Bounds:
    """The request's bounds; ValueError says which parameter is malformed."""
    raw_position, raw_lag = query.get("min_position"), query.get("max_lag")
    position = None if raw_position is None else parse_position(raw_position)
    if raw_position is not None and position is None:
        raise ValueError("min_position must be <partition>:<offset>, as ingest's answer gives it")
    if raw_lag is not None and not (raw_lag.isdigit() and len(raw_lag) <= 12):
        raise ValueError("max_lag must be a whole number of records (0 or more)")
    wait_s = 0.0
    if position is not None:
        try:
            wait_s = float(query.get("wait", "10"))
        except ValueError:
            wait_s = -1.0
        if not 0 <= wait_s <= MAX_WAIT_S:
            raise ValueError(f"wait must be 0..{MAX_WAIT_S:.0f} seconds")
    return Bounds(position, None if raw_lag is None else int(raw_lag), wait_s)


def freshness_headers(partition: int, folded: int, end: int | None, worker: str) -> dict[str, str]:
    """The four headers; without a known end offset the lag is left out."""
    headers = {PARTITION: str(partition), OFFSET: str(folded), WORKER: worker}
    if end is not None:
        headers[LAG] = str(max(0, end - folded))
    return headers


@dataclass
class Freshness:
    """This worker's numbers for a raw partition: read from the fold loop and Faust's consumer."""

    app: Any
    raw_topic: str
    positions: FoldedPositions
    worker: str

    def _consumer(self) -> Any:
        return started_consumer(self.app)

    def folded(self, partition: int) -> int:
        """The offset up to which this worker's store of `partition` has folded, at least."""
        consumer = self._consumer()
        committed = None if consumer is None else committed_offset(consumer, TP(self.raw_topic, partition))
        return max(self.positions.folded_to(partition) or 0, committed or 0)

    def end(self, partition: int) -> int | None:
        """The partition's end offset at the last fetch (None before one)."""
        consumer = self._consumer()
        try:
            return None if consumer is None else consumer.highwater(TP(self.raw_topic, partition))
        except Exception:  # noqa: BLE001 - between assignments the consumer may not know the partition
            return None

    def lag(self, partition: int) -> int | None:
        end = self.end(partition)
        return None if end is None else max(0, end - self.folded(partition))

    async def check(self, partition: int, bounds: Bounds) -> Unfresh | None:
        """None when this worker's store of `partition` meets the bounds (after waiting up to
        `bounds.wait_s` for a position), else the answer to give instead."""
        position = bounds.position
        if position is not None:
            if position.partition != partition:
                return Unfresh(400, "bad_request", f"position {position} is on partition {position.partition}, "
                               f"this key on partition {partition}: ask with the position ingest gave for this key")
            try:
                reached = self.folded(partition) > position.offset or await self.positions.wait_past(
                    partition, position.offset, bounds.wait_s)
            except TooManyWaitersError as exc:
                return Unfresh(503, "overloaded", str(exc), RETRY_AFTER_S)
            if not reached:
                return Unfresh(404, "not_folded", f"partition {partition} has not folded offset {position.offset} "
                               f"after {bounds.wait_s:g} s (it is at {self.folded(partition)})")
        if bounds.max_lag is not None:
            lag = self.lag(partition)
            if lag is None or lag > bounds.max_lag:
                behind = "an unknown number of" if lag is None else str(lag)
                return Unfresh(503, "too_far_behind", f"the owner of partition {partition} is {behind} records "
                               f"behind (max_lag={bounds.max_lag}); retry shortly", RETRY_AFTER_S)
        return None

    def headers(self, partition: int) -> dict[str, str]:
        return freshness_headers(partition, self.folded(partition), self.end(partition), self.worker)
