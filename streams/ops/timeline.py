"""`hooklog timeline`: one aggregate's state with its whole history, folded from the raw log.

A stored state keeps at most `HOOKLOG_HISTORY_LIMIT` history entries (`projections.history.
bound_history`: a state is one Kafka record, and no key may outgrow the broker), counting the
rest in `historyOmitted`. The raw log keeps every event, so an operator auditing an aggregate
gets the full timeline here: ingest keys raw records by aggregate id, so its events are all on
one raw partition; that partition is read from its beginning to its end now (no group, nothing
committed) and the key's records folded with the worker's own fold step, unbounded. The cost is
a read of one raw partition, not of the log.
"""

from __future__ import annotations

import sys
from typing import Any

from floor.kafka.partitioning import partition_for
from floor.kafka.topic_reader import read_partition_range
from floor.settings import Settings
from projections.driver import Dead, fold_record
from projections.registry import PROJECTIONS, Projection
from schemas.errors import HooklogError


class TimelineError(HooklogError):
    """The timeline asked for names no projection."""


def projection_named(name: str) -> Projection:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    raise TimelineError(f"no projection {name!r}: one of {', '.join(p.name for p in PROJECTIONS)}")


async def full_state(settings: Settings, projection_name: str, key: str, *, timeout_s: float = 300.0) -> Any:
    """`key`'s state in `projection_name` with every event of the raw log in its history (None:
    no event of it folds into that projection). BrokerUnavailableError past `timeout_s`."""
    wanted = projection_named(projection_name)
    raw_key = key.encode()
    partition = partition_for(raw_key, settings.partitions)
    states: dict[str, Any] = {}

    def load(projection: Projection, aggregate: str) -> Any:
        return states.get(projection.name)

    async for records in read_partition_range(settings, settings.topic("raw"), partition,
                                              request_timeout_s=timeout_s, deadline_s=timeout_s, max_records=10_000):
        for record in records:
            if record.key == raw_key:
                result = fold_record(record.value, load, history_limit=sys.maxsize)
                if not isinstance(result, Dead):
                    _, projection, state, _, _ = result
                    states[projection.name] = state
    return states.get(wanted.name)
