"""`hooklog replay`: fold the raw log into a new projection generation, fast and resumably.

Why not the worker's path: Faust pays its per-event machinery and the worker round-trips every
state through JSON (its tables hold bytes). Replay reads aiokafka batches straight into
`projections.replay.apply_envelope` (the same `decode_fact`, `projection_for` and folds as
`streams.worker.processing.process_record`), keeps states as objects and serialises each state once per
flush. No consumer group, no commit, no write to the worker's topics: replay never disturbs it.

Ingest keys raw records by aggregate id, so partitions fold independently: a large replay folds
groups of partitions in worker processes (`streams.replay_pool`), each running this module's
`fold_batches`, and merges their states as JSON. Generations (their manifests, sinks, resuming
and pruning) are in `streams.generation`.
"""

from __future__ import annotations

import asyncio
import gc
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from projections.registry import PROJECTIONS
from projections.replay import Rebuilt, apply_envelope
from schemas.alerts import Alert
from schemas.envelope import decode_envelope
from schemas.errors import BrokerUnavailableError, EnvelopeError, HooklogError
from schemas.settings import Settings
from streams.lazy_table import LazyTable, json_of

STATE_TYPES: dict[str, type[BaseModel]] = {p.name: p.state_type for p in PROJECTIONS}
#: Per-partition fetch size. Measured on 200k envelopes: 1 MiB keeps the fold fed without the
#: stalls of larger fetches (the fetcher only runs between folds, on the same event loop).
FETCH_BYTES = 1 << 20
#: Below this many records to fold, `processes=None` folds in this process: starting worker
#: processes and shipping states back as JSON costs about as much as folding this many.
PARALLEL_MIN_RECORDS = 20_000
STALL_S = 30.0
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
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReplayError(f"{text!r} is neither an ISO 8601 time (2026-03-20T10:00:00Z) nor "
                          "partition:offset pairs (0:120,1:98)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bound_text(bound: Bound) -> str | None:
    """A bound as the manifest records it."""
    if isinstance(bound, datetime):
        return bound.isoformat()
    return ",".join(f"{p}:{o}" for p, o in sorted(bound.items())) if bound else None


def state_bytes(state: BaseModel) -> bytes:
    """A state's record value, byte for byte what the worker stores and publishes."""
    return state.model_dump_json().encode()


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


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect the young GC generation every 100k allocations (not 700) while folding: nearly all a
    fold allocates lives on in the states, so frequent collections only re-scan it (measured: the
    default thresholds cost ~30% of the fold's time). Restored afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def consumer_for(bootstrap: str, fetch_bytes: int) -> AIOKafkaConsumer:
    """A group-less reader: replay commits nothing and is invisible to the worker."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_bytes=max(fetch_bytes * 4, 1 << 20),
        max_partition_fetch_bytes=fetch_bytes, client_id="hooklog-replay", request_timeout_ms=30_000,
    )


async def started(consumer: AIOKafkaConsumer, bootstrap: str) -> AIOKafkaConsumer:
    try:
        await asyncio.wait_for(consumer.start(), 30)
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        await consumer.stop()
        raise BrokerUnavailableError(f"cannot reach Kafka at {bootstrap} ({exc!r}); "
                                     "is the broker up (`hooklog kafka start`)?") from exc
    return consumer


async def _topic_partitions(consumer: AIOKafkaConsumer, topic: str, only: set[int] | None) -> list[TopicPartition]:
    cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001 - the topic is not subscribed
    partitions = cluster.partitions_for_topic(topic)
    if not partitions:
        raise ReplayError(f"topic {topic} does not exist: check HOOKLOG_TOPIC_PREFIX (ingest creates it)")
    if only is not None and only - partitions:
        raise ReplayError(f"partition(s) {sorted(only - partitions)} do not exist; {topic} has {sorted(partitions)}")
    return [TopicPartition(topic, p) for p in sorted(partitions) if only is None or p in only]


async def _resolve(consumer: AIOKafkaConsumer, tps: list[TopicPartition], bound: Bound,
                   default: dict[int, int], first: dict[int, int], last: dict[int, int]) -> dict[int, int]:
    """Offsets per partition for a bound: a time maps to the first record at or after it."""
    if bound is None:
        return dict(default)
    if isinstance(bound, datetime):
        found = await consumer.offsets_for_times({tp: int(bound.timestamp() * 1000) for tp in tps})
        return {tp.partition: found[tp].offset if found.get(tp) else last[tp.partition] for tp in tps}
    unknown = sorted(set(bound) - set(default))
    if unknown:
        raise ReplayError(f"partition(s) {unknown} do not exist; the raw topic has {sorted(default)}")
    return {p: min(max(bound.get(p, default[p]), first[p]), last[p]) for p in default}


async def plan(consumer: AIOKafkaConsumer, topic: str, since: Bound, until: Bound,
               previous: Replayed | None, extend: bool, only: set[int] | None = None) -> Replayed:
    """A new slice of the log, or `previous` (its end moved to `until`/now when extending)."""
    tps = await _topic_partitions(consumer, topic, only if previous is None else None)
    if previous is not None and {tp.partition for tp in tps} != set(previous.end):
        raise ReplayError(f"{topic} now has partitions {[tp.partition for tp in tps]}, the replay was made with "
                          f"{sorted(previous.end)}: start a new replay")
    consumer.assign(tps)  # known partitions: offset lookups skip a 100 ms metadata retry
    consumer.pause(*tps)  # and nothing is fetched before `fold_batches` seeks
    begins, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    first, last = {tp.partition: begins[tp] for tp in tps}, {tp.partition: ends[tp] for tp in tps}
    if previous is None:
        start = await _resolve(consumer, tps, since, first, first, last)
        end = await _resolve(consumer, tps, until, last, first, last)
        return Replayed(topic, start, {p: max(end[p], start[p]) for p in start}, dict(start),
                        {p: Rebuilt() for p in start})
    if not extend:
        return previous
    end = await _resolve(consumer, tps, until, last, first, last)
    previous.end = {p: max(end[p], previous.end[p]) for p in end}
    return previous


async def replay_topic(
    settings: Settings, *, since: Bound = None, until: Bound = None, on_progress: Progress | None = None,
    previous: Replayed | None = None, extend: bool = False, checkpoint: Checkpoint | None = None,
    checkpoint_every_s: float = 5.0, fetch_bytes: int = FETCH_BYTES, partitions: set[int] | None = None,
    processes: int | None = None,
) -> Replayed:
    """Fold `settings`' raw topic from `since` (default: the beginning) to `until` (default: its
    end now), or continue `previous` up to its end (`extend`: up to `until` / the end now).

    `on_progress(done, total)` runs after fetched batches; `checkpoint(replayed)` every
    `checkpoint_every_s` and once at the end, with `replayed.take_changes()` ready to write.
    `partitions` restricts a new replay to some raw partitions (aggregates never span two).
    `processes`: worker processes folding groups of partitions; None: one per core (at most one
    per partition), or this process alone when fewer than PARALLEL_MIN_RECORDS records are left;
    1 folds here.
    """
    bootstrap = settings.kafka_bootstrap_servers
    began = time.monotonic()
    consumer = await started(consumer_for(bootstrap, fetch_bytes), bootstrap)
    try:
        replayed = await plan(consumer, settings.topic("raw"), since, until, previous, extend, partitions)
        if checkpoint is not None and replayed.dirty is None:
            replayed.dirty = {p: set() for p in replayed.shards}
        from streams.replay_pool import fold_in_processes, partition_groups  # it imports this module

        remaining = replayed.remaining
        small = processes is None and sum(remaining.values()) < PARALLEL_MIN_RECORDS
        groups = partition_groups(remaining, 1 if small else processes)
        if len(groups) <= 1:
            with fewer_collections():
                await fold_batches(consumer, replayed, on_progress, checkpoint, checkpoint_every_s)
    finally:
        await consumer.stop()
    if len(groups) > 1:
        await fold_in_processes(bootstrap, replayed, groups, on_progress=on_progress, checkpoint=checkpoint,
                                every_s=checkpoint_every_s, fetch_bytes=fetch_bytes)
    replayed.elapsed_s += time.monotonic() - began
    return replayed


async def fold_batches(consumer: AIOKafkaConsumer, replayed: Replayed, on_progress: Progress | None,
                       checkpoint: Checkpoint | None, every_s: float) -> None:
    """Fold `replayed`'s partitions from their positions to their ends, batch by batch."""
    topic, end, positions = replayed.topic, replayed.end, replayed.positions
    pending = {TopicPartition(topic, p) for p in end if positions[p] < end[p]}
    consumer.assign(list(pending))  # only these: an assigned partition is fetched even if unread
    for tp in pending:
        consumer.seek(tp, positions[tp.partition])
    if on_progress:
        on_progress(replayed.events, replayed.total)
    last_flush = last_data = time.monotonic()
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000)
        now = time.monotonic()
        if not batches and now - last_data > STALL_S:
            raise ReplayError(f"no records from {topic} for {STALL_S:.0f}s although offsets up to {end} "
                              f"were announced (positions {positions}); is the broker healthy?")
        for tp, records in batches.items():
            p = tp.partition
            _fold_records(replayed, p, records)
            positions[p] = min(await consumer.position(tp), end[p])
            if positions[p] >= end[p]:
                pending.discard(tp)
            last_data = now
        if on_progress:
            on_progress(replayed.events, replayed.total)
        if checkpoint is not None and now - last_flush >= every_s:
            await checkpoint(replayed)
            last_flush = time.monotonic()
    if checkpoint is not None:
        await checkpoint(replayed)


def _fold_records(replayed: Replayed, partition: int, records: list[Any]) -> None:
    """The per-event loop, kept to the fold itself: no logging, no per-record bookkeeping."""
    stop = replayed.end[partition]
    if records and records[-1].offset >= stop:
        records = [r for r in records if r.offset < stop]
    shard, dirty = replayed.shards[partition], replayed.dirty[partition] if replayed.dirty else None
    decode, apply = decode_envelope, apply_envelope
    for record in records:
        try:
            envelope = decode(record.value)
        except EnvelopeError as exc:
            replayed.undecodable.append((partition, record.offset, str(exc)))
            continue
        apply(shard, envelope)
        if dirty is not None:
            dirty.add(envelope.key)  # decode_fact guarantees aggregate id == record key
