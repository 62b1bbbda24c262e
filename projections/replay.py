"""Rebuild every projection from raw records in memory, with the live worker's fold step.

Replay's side of `projections.driver.fold_record`: states are kept as objects in plain dicts
(or any mapping with `get`, e.g. replay's `LazyTable`), one `Rebuilt` per raw partition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from projections.driver import Dead, fold_record
from projections.history import HISTORY_LIMIT
from projections.registry import Projection
from schemas.alerts import Alert
from schemas.envelope import Envelope


@dataclass
class DeadLetter:
    """A record no fold could take, with the reason; it never touches an aggregate."""

    envelope: Envelope
    reason: str


@dataclass
class Rebuilt:
    """Every projection's states by aggregate id, alerts by id, and the dead letters."""

    states: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    alerts: dict[str, Alert] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: the live worker's HOOKLOG_HISTORY_LIMIT, so a replay bounds histories as it does
    history_limit: int = HISTORY_LIMIT

    def load(self, projection: Projection, key: str) -> Any:
        """The `projections.driver.Load` of replay: a projection's table is made on first use."""
        return self.states[projection.name].get(key)


class RawRecord(Protocol):
    """A raw-topic record as replay reads it (aiokafka's `ConsumerRecord` is one)."""

    @property
    def offset(self) -> int: ...

    @property
    def value(self) -> bytes | None: ...


class Raw(NamedTuple):
    """A `RawRecord` made of plain values (tests, `rebuild`)."""

    offset: int
    value: bytes | None


def fold_into(rebuilt: Rebuilt, records: Iterable[RawRecord], touched: set[str] | None = None) -> list[tuple[int, str]]:
    """Fold one partition's records in order into `rebuilt` (replay's loop, a batch at a time);
    each folded aggregate id goes into `touched`. An alert is kept once: its id is a function of
    the event, so a redelivery derives the same one. A record that is not an envelope is
    returned as (its offset, the reason), for the caller to report where it was read."""
    load, states, alerts, dead_letters = rebuilt.load, rebuilt.states, rebuilt.alerts, rebuilt.dead_letters
    limit = rebuilt.history_limit
    undecodable: list[tuple[int, str]] = []
    for record in records:
        result = fold_record(record.value, load, limit)
        if isinstance(result, Dead):
            if result.envelope is None:
                undecodable.append((record.offset, result.reason))
            else:
                dead_letters.append(DeadLetter(result.envelope, result.reason))
            continue
        fact, projection, state, changed, raised = result
        if changed:
            states[projection.name][fact.aggregateId] = state
        for alert in raised:
            alerts.setdefault(alert.id, alert)
        if touched is not None:
            touched.add(fact.aggregateId)
    return undecodable


def rebuild(raws: Iterable[bytes]) -> Rebuilt:
    """All of `raws` (record values, in log order) folded into one `Rebuilt`."""
    rebuilt = Rebuilt()
    fold_into(rebuilt, [Raw(offset, raw) for offset, raw in enumerate(raws)])
    return rebuilt
