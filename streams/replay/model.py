"""What a replay is and holds: its slice of the log, its per-partition states, its records.

Shared by the fold (fold.py), the worker processes (pool.py), the generations and sinks, verify
and promote; it imports none of them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

import orjson
from pydantic import BaseModel

from projections.registry import PROJECTIONS
from projections.replay import Rebuilt
from schemas.alerts import Alert
from schemas.errors import HooklogError, TimeFormatError
from schemas.jsondump import plain_json
from schemas.times import parse_time
from streams.replay.lazy_table import LazyTable, json_of

STATE_TYPES: dict[str, type[BaseModel]] = {p.name: p.state_type for p in PROJECTIONS}
Bound = datetime | dict[int, int] | None
Progress = Callable[[int, int], None]
Checkpoint = Callable[["Replayed"], Awaitable[None]]
T = TypeVar("T")


class ReplayError(HooklogError):
    """A replay cannot start, continue or be written."""


class Change(NamedTuple):
    """One record of a generation: a state (`name` = projection) or an alert (`name` = "alerts")."""

    name: str
    partition: int
    key: str
    value: bytes


def parse_bound(text: str | None) -> Bound:
    """`--from`/`--until`: an ISO 8601 time (a raw record's time is when ingest accepted it) or
    `P:O[,P:O...]` offsets; partitions left out keep the default (the beginning / the end)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if re.fullmatch(r"\d+:\d+(,\d+:\d+)*", text):
        return {int(p): int(o) for p, o in (pair.split(":") for pair in text.split(","))}
    try:
        return parse_time(text)
    except TimeFormatError:
        raise ReplayError(f"{text!r} is neither an ISO 8601 time (2026-03-20T10:00:00Z) nor "
                          "partition:offset pairs (0:120,1:98)") from None


def bound_text(bound: Bound) -> str | None:
    """A bound as the manifest records it."""
    if isinstance(bound, datetime):
        return bound.isoformat()
    return ",".join(f"{p}:{o}" for p, o in sorted(bound.items())) if bound else None


def state_bytes(state: BaseModel) -> bytes:
    """A state's record value, byte for byte what the worker stores and publishes
    (`model_dump_json`), through orjson where that writes the same bytes (schemas/jsondump.py):
    replay serialises every state it ships between processes or writes."""
    return plain_json(state)


def alert_bytes(alert: Alert) -> bytes:
    """An alert's record value, as the worker writes it."""
    return orjson.dumps(alert.model_dump(mode="json"))


def _lazy(shard: Rebuilt, name: str) -> LazyTable:
    """`shard`'s table for a projection (or "alerts") as a LazyTable, converted in place once."""
    table: Mapping[str, Any] | None = shard.alerts if name == "alerts" else shard.states.get(name)
    if isinstance(table, LazyTable):
        return table
    if name == "alerts":
        lazy = LazyTable(Alert.model_validate_json, alert_bytes, table)
        shard.alerts = lazy  # type: ignore[assignment] - a drop-in mapping for the dict
    elif name in STATE_TYPES:
        lazy = LazyTable(STATE_TYPES[name].model_validate_json, state_bytes, table)
        shard.states[name] = lazy  # type: ignore[assignment]
    else:
        raise ReplayError(f"the generation holds projection {name!r}, unknown to this hooklog: "
                          "resume it with the version that started it")
    return lazy


@dataclass
class Replayed:
    """The fold of `[start, positions)` of each raw partition, one `Rebuilt` per partition (ingest
    keys records by aggregate id, so an aggregate lives in one partition, like Faust's tables)."""

    topic: str
    start: dict[int, int]
    end: dict[int, int]
    positions: dict[int, int]
    shards: dict[int, Rebuilt]
    undecodable: list[tuple[int, int, str]] = field(default_factory=list)
    base_dead: int = 0  # dead letters folded by an earlier, interrupted run of this generation
    elapsed_s: float = 0.0
    dirty: dict[int, set[str]] | None = None  # keys touched since the last flush (when writing)
    alerts_taken: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.end[p] - self.start[p] for p in self.end)

    @property
    def events(self) -> int:
        """Raw records folded (or found undecodable) so far, including earlier runs."""
        return sum(self.positions[p] - self.start[p] for p in self.end)

    @property
    def remaining(self) -> dict[int, int]:
        """Raw records left to fold, per partition that has any."""
        return {p: self.end[p] - self.positions[p] for p in self.end if self.positions[p] < self.end[p]}

    @property
    def dead(self) -> int:
        return self.base_dead + len(self.undecodable) + sum(len(s.dead_letters) for s in self.shards.values())

    @property
    def complete(self) -> bool:
        return all(self.positions[p] >= self.end[p] for p in self.end)

    def counts(self) -> dict[str, int]:
        """Aggregates per projection and alerts, counted without serialising anything."""
        counts = {name: sum(len(s.states.get(name, ())) for s in self.shards.values()) for name in STATE_TYPES}
        return {**counts, "alerts": sum(len(s.alerts) for s in self.shards.values())}

    def _merged(self, value: Callable[[Mapping[str, Any], str], T]) -> dict[str, dict[str, tuple[int, T]]]:
        """projection -> key -> (raw partition, value(table, key)); a key in two partitions cannot be merged."""
        merged: dict[str, dict[str, tuple[int, T]]] = {name: {} for name in STATE_TYPES}
        for partition, shard in self.shards.items():
            for name, table in shard.states.items():
                into = merged.setdefault(name, {})
                for key in table:
                    if key in into:
                        raise ReplayError(f"{name} {key!r} has records in raw partitions {into[key][0]} and "
                                          f"{partition}: the raw topic's partition count changed; replay "
                                          "cannot merge states across partitions")
                    into[key] = (partition, value(table, key))
        return merged

    def states(self) -> dict[str, dict[str, tuple[int, BaseModel]]]:
        """projection -> key -> (raw partition, state object)."""
        return self._merged(lambda table, key: table[key])

    def state_records(self) -> dict[str, dict[str, tuple[int, bytes]]]:
        """projection -> key -> (raw partition, state JSON): what a sink writes, parsing nothing."""
        return self._merged(lambda table, key: json_of(table, key, state_bytes))

    def state_json(self) -> dict[str, dict[str, bytes]]:
        """projection -> key -> state JSON, byte for byte what the worker stores and publishes."""
        return {name: {key: value for key, (_, value) in table.items()} for name, table in self.state_records().items()}

    def alert_json(self) -> dict[str, bytes]:
        return {aid: json_of(shard.alerts, aid, alert_bytes) for shard in self.shards.values() for aid in shard.alerts}

    def shard_changes(self, partition: int) -> list[Change]:
        """Everything one partition's shard holds, as records (a worker process's starting point)."""
        shard = self.shards[partition]
        changes = [Change(name, partition, key, json_of(table, key, state_bytes))
                   for name, table in shard.states.items() for key in table]
        return changes + [Change("alerts", partition, aid, json_of(shard.alerts, aid, alert_bytes)) for aid in shard.alerts]

    def take_changes(self) -> list[Change]:
        """States touched and alerts raised since the last call: what the next flush writes."""
        changes: list[Change] = []
        for partition, keys in (self.dirty or {}).items():
            shard = self.shards[partition]
            for name, table in shard.states.items():
                changes.extend(Change(name, partition, key, json_of(table, key, state_bytes))
                               for key in keys if key in table)
            keys.clear()
            taken = self.alerts_taken.get(partition, 0)
            changes.extend(Change("alerts", partition, aid, json_of(shard.alerts, aid, alert_bytes))
                           for aid in islice(shard.alerts, taken, None))
            self.alerts_taken[partition] = len(shard.alerts)
        return changes

    def put_changes(self, changes: Iterable[Change]) -> None:
        """Take states and alerts as JSON (a resumed sink, a worker process's fold), unparsed;
        touched keys count as dirty when changes are being tracked."""
        for change in changes:
            _lazy(self.shards[change.partition], change.name).put_json(change.key, change.value)
            if self.dirty is not None and change.name != "alerts":
                self.dirty[change.partition].add(change.key)


class Share(NamedTuple):
    """One worker's part of a replay spread over processes on several hosts (`--workers N
    --worker I`): the raw partitions p with p % count == index. Aggregates never span two raw
    partitions, and a generation's records go to the partition of their raw records, so the
    workers fold and write disjoint partitions of one generation."""

    index: int
    count: int

    def of(self, partitions: Iterable[int]) -> set[int]:
        return {p for p in partitions if p % self.count == self.index}

    @property
    def label(self) -> str:
        return f"w{self.index}of{self.count}"


class Manifest(BaseModel):
    """What a generation is (its slice of the log) and how far it got; JSON beside the data."""

    raw_topic: str
    generation: int | None = None
    file: str | None = None
    since: str | None = None
    until: str | None = None
    start: dict[int, int]
    end: dict[int, int]
    positions: dict[int, int]
    events: int = 0
    dead: int = 0
    status: Literal["running", "done"] = "running"
    created_at: datetime
    finished_at: datetime | None = None
    promoted_at: datetime | None = None
    promoted_end: dict[int, int] | None = None
    share: Share | None = None  # one worker's part of a spread replay (start/end hold only its partitions)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
