"""`hooklog replay`: fold the raw log into a new projection generation, fast and resumably.

Why not the worker's path: Faust pays its per-event machinery and the worker round-trips every
state through JSON (its tables hold bytes). Replay reads aiokafka batches straight into
`projections.replay.apply_envelope` (the same `decode_fact`, `projection_for` and folds as
`streams.processing.process_record`), keeps states as objects and serialises each state once per
flush. No consumer group, no commit, no write to the worker's topics: replay never disturbs it.

A generation is `[start, end)` of every raw partition, fixed when it begins. It is written to
compacted topics `<prefix>.<projection>.v1.g<N>` and `<prefix>.alerts.v1.g<N>` (each record in
the partition of the raw records it was folded from), or to a JSONL snapshot (`--to`). Its
manifest (`<data_dir>/replay/<prefix>.g<N>.json`, or `<file>.checkpoint.json`) holds the offsets
folded so far and is rewritten only after the states up to them are acked (or fsynced), so a
resumed replay reloads the sink and continues from exactly there.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Literal, NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import BaseModel

from projections.registry import PROJECTIONS
from projections.replay import Rebuilt, apply_envelope
from schemas.alerts import Alert
from schemas.envelope import decode_envelope
from schemas.errors import BrokerUnavailableError, EnvelopeError, HooklogError
from schemas.settings import Settings
from streams.topic_reader import read_range

STATE_TYPES: dict[str, type[BaseModel]] = {p.name: p.state_type for p in PROJECTIONS}
#: Per-partition fetch size. Measured on 200k envelopes: 1 MiB keeps the fold fed without the
#: stalls of larger fetches (the fetcher only runs between folds, on the same event loop).
FETCH_BYTES = 1 << 20
STALL_S = 30.0
Bound = datetime | dict[int, int] | None
Progress = Callable[[int, int], None]


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


def _bound_text(bound: Bound) -> str | None:
    if isinstance(bound, datetime):
        return bound.isoformat()
    return ",".join(f"{p}:{o}" for p, o in sorted(bound.items())) if bound else None


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
    def dead(self) -> int:
        return self.base_dead + len(self.undecodable) + sum(len(s.dead_letters) for s in self.shards.values())

    @property
    def complete(self) -> bool:
        return all(self.positions[p] >= self.end[p] for p in self.end)

    def states(self) -> dict[str, dict[str, tuple[int, BaseModel]]]:
        """projection -> key -> (raw partition, state); a key in two partitions cannot be merged."""
        merged: dict[str, dict[str, tuple[int, BaseModel]]] = {name: {} for name in STATE_TYPES}
        for partition, shard in self.shards.items():
            for name, table in shard.states.items():
                into = merged.setdefault(name, {})
                for key, state in table.items():
                    if key in into:
                        raise ReplayError(f"{name} {key!r} has records in raw partitions {into[key][0]} and "
                                          f"{partition}: the raw topic's partition count changed; replay "
                                          "cannot merge states across partitions")
                    into[key] = (partition, state)
        return merged

    def state_json(self) -> dict[str, dict[str, bytes]]:
        """projection -> key -> state JSON, byte for byte what the worker stores and publishes."""
        return {name: {key: state.model_dump_json().encode() for key, (_, state) in table.items()}
                for name, table in self.states().items()}

    def alert_json(self) -> dict[str, bytes]:
        return {aid: alert_bytes(a) for shard in self.shards.values() for aid, a in shard.alerts.items()}

    def take_changes(self) -> list[Change]:
        """States touched and alerts raised since the last call: what the next flush writes."""
        changes: list[Change] = []
        for partition, keys in (self.dirty or {}).items():
            shard = self.shards[partition]
            for name, table in shard.states.items():
                changes.extend(Change(name, partition, key, table[key].model_dump_json().encode())
                               for key in keys if key in table)
            keys.clear()
            taken = self.alerts_taken.get(partition, 0)
            changes.extend(Change("alerts", partition, a.id, alert_bytes(a))
                           for a in islice(shard.alerts.values(), taken, None))
            self.alerts_taken[partition] = len(shard.alerts)
        return changes


def alert_bytes(alert: Alert) -> bytes:
    """An alert's record value, as the worker writes it."""
    return orjson.dumps(alert.model_dump(mode="json"))


def _consumer(settings: Settings, fetch_bytes: int) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_bytes=max(fetch_bytes * 4, 1 << 20),
        max_partition_fetch_bytes=fetch_bytes, client_id="hooklog-replay", request_timeout_ms=30_000,
    )


async def _started(consumer: AIOKafkaConsumer, settings: Settings) -> None:
    try:
        await asyncio.wait_for(consumer.start(), 30)
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        await consumer.stop()
        raise BrokerUnavailableError(f"cannot reach Kafka at {settings.kafka_bootstrap_servers} ({exc!r}); "
                                     "is the broker up (`hooklog kafka start`)?") from exc


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


async def _plan(consumer: AIOKafkaConsumer, topic: str, since: Bound, until: Bound,
                previous: Replayed | None, extend: bool, only: set[int] | None = None) -> Replayed:
    """A new slice of the log, or `previous` (its end moved to `until`/now when extending)."""
    tps = await _topic_partitions(consumer, topic, only if previous is None else None)
    if previous is not None and {tp.partition for tp in tps} != set(previous.end):
        raise ReplayError(f"{topic} now has partitions {[tp.partition for tp in tps]}, the replay was made with "
                          f"{sorted(previous.end)}: start a new replay")
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
    previous: Replayed | None = None, extend: bool = False,
    checkpoint: Callable[[Replayed], Awaitable[None]] | None = None, checkpoint_every_s: float = 5.0,
    fetch_bytes: int = FETCH_BYTES, partitions: set[int] | None = None,
) -> Replayed:
    """Fold `settings`' raw topic from `since` (default: the beginning) to `until` (default: its
    end now), or continue `previous` up to its end (`extend`: up to `until` / the end now).

    `on_progress(done, total)` runs after every fetched batch; `checkpoint(replayed)` every
    `checkpoint_every_s` and once at the end, with `replayed.take_changes()` ready to write.
    `partitions` restricts a new replay to some raw partitions (aggregates never span two).
    """
    topic = settings.topic("raw")
    consumer = _consumer(settings, fetch_bytes)
    await _started(consumer, settings)
    began = time.monotonic()
    try:
        replayed = await _plan(consumer, topic, since, until, previous, extend, partitions)
        if checkpoint is not None and replayed.dirty is None:
            replayed.dirty = {p: set() for p in replayed.shards}
        await _fold(consumer, replayed, on_progress, checkpoint, checkpoint_every_s)
    finally:
        await consumer.stop()
    replayed.elapsed_s += time.monotonic() - began
    return replayed


async def _fold(consumer: AIOKafkaConsumer, replayed: Replayed, on_progress: Progress | None,
                checkpoint: Callable[[Replayed], Awaitable[None]] | None, every_s: float) -> None:
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
            shard, stop, dirty = replayed.shards[p], end[p], replayed.dirty[p] if replayed.dirty else None
            for record in records:
                if record.offset >= stop:
                    break
                try:
                    envelope = decode_envelope(record.value)
                except EnvelopeError as exc:
                    replayed.undecodable.append((p, record.offset, str(exc)))
                    continue
                apply_envelope(shard, envelope)
                if dirty is not None:
                    dirty.add(envelope.key)  # decode_fact guarantees aggregate id == record key
            positions[p] = min(await consumer.position(tp), stop)
            if positions[p] >= stop:
                pending.discard(tp)
            last_data = now
        if on_progress:
            on_progress(replayed.events, replayed.total)
        if checkpoint is not None and now - last_flush >= every_s:
            await checkpoint(replayed)
            last_flush = time.monotonic()
    if checkpoint is not None:
        await checkpoint(replayed)


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

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


class TopicSink:
    """A generation's compacted topics; a record goes to the partition of its raw records."""

    def __init__(self, settings: Settings, generation: int) -> None:
        self.settings = settings
        self.topics = {name: f"{settings.topic(name)}.g{generation}" for name in (*STATE_TYPES, "alerts")}
        self.producer: AIOKafkaProducer | None = None
        self.pending: list[asyncio.Future[object]] = []

    async def open(self, partitions: int, *, create: bool) -> None:
        if create:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers)
            try:
                await admin.start()
                config = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
                await admin.create_topics([NewTopic(t, partitions, 1, topic_configs=config)
                                           for t in self.topics.values()])
            except TopicAlreadyExistsError as exc:
                raise ReplayError(f"generation topics already exist ({exc}); pick another generation") from exc
            finally:
                await admin.close()
        self.producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all",
                                         enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20,
                                         client_id="hooklog-replay")
        await self.producer.start()

    async def write(self, changes: list[Change]) -> None:
        assert self.producer is not None
        for change in changes:
            self.pending.append(await self.producer.send(
                self.topics[change.name], change.value, key=change.key.encode(), partition=change.partition))

    async def flush(self) -> None:
        pending, self.pending = self.pending, []
        try:
            await asyncio.gather(*pending)
        except KafkaError as exc:
            raise ReplayError(f"writing {self.topics['alerts']} and its siblings failed ({exc!r}); "
                              "the manifest still has the last safe offsets: run again with --resume") from exc

    async def load(self) -> list[Change]:
        latest: dict[tuple[str, str], Change] = {}
        for name, topic in self.topics.items():
            async for batch in read_range(self.settings.kafka_bootstrap_servers, topic, timeout_s=600):
                for r in batch:
                    latest[(name, r.key.decode())] = Change(name, r.partition, r.key.decode(), r.value)
        return list(latest.values())

    async def finish(self, replayed: Replayed, manifest: Manifest) -> None:
        """Nothing left: the last checkpoint wrote every state."""

    async def close(self, done: bool) -> None:
        if self.producer is not None:
            await self.producer.stop()


class FileSink:
    """`--to file.jsonl`: flushes append to `<file>.partial`; the end writes the snapshot at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.fh: IO[bytes] | None = None

    async def open(self, partitions: int, *, create: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.partial, "wb" if create else "ab")  # noqa: SIM115 - closed by close()

    async def write(self, changes: list[Change]) -> None:
        assert self.fh is not None
        self.fh.write(b"".join(_line("state" if c.name != "alerts" else "alert", c) for c in changes))

    async def flush(self) -> None:
        assert self.fh is not None
        self.fh.flush()
        os.fsync(self.fh.fileno())

    async def load(self) -> list[Change]:
        latest: dict[tuple[str, str], Change] = {}
        for line in self.partial.read_bytes().splitlines():
            doc = orjson.loads(line)
            latest[(doc["projection"], doc["key"])] = Change(doc["projection"], doc["partition"], doc["key"],
                                                              orjson.dumps(doc["value"]))
        return list(latest.values())

    async def finish(self, replayed: Replayed, manifest: Manifest) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps({"kind": "meta", **manifest.model_dump(mode="json")}) + b"\n")
            for name, table in sorted(replayed.states().items()):
                for key, (partition, state) in sorted(table.items()):
                    fh.write(_line("state", Change(name, partition, key, state.model_dump_json().encode())))
            for partition, shard in sorted(replayed.shards.items()):
                for aid, alert in sorted(shard.alerts.items()):
                    fh.write(_line("alert", Change("alerts", partition, aid, alert_bytes(alert))))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    async def close(self, done: bool) -> None:
        if self.fh is not None:
            self.fh.close()
        if done:  # the snapshot holds everything the partial file did
            self.partial.unlink(missing_ok=True)


def _line(kind: str, change: Change) -> bytes:
    return orjson.dumps({"kind": kind, "projection": change.name, "partition": change.partition,
                         "key": change.key, "value": orjson.Fragment(change.value)}) + b"\n"


def manifest_path(settings: Settings, generation: int) -> Path:
    return settings.data_dir / "replay" / f"{settings.topic_prefix}.g{generation}.json"


def local_generations(settings: Settings) -> dict[int, Manifest]:
    """This data dir's generation manifests, by number."""
    pattern = re.compile(rf"^{re.escape(settings.topic_prefix)}\.g(\d+)\.json$")
    folder = settings.data_dir / "replay"
    found = ((pattern.match(p.name), p) for p in folder.glob("*.json")) if folder.is_dir() else ()
    return {int(m.group(1)): Manifest.model_validate_json(p.read_bytes()) for m, p in found if m}


async def _topic_generations(settings: Settings) -> set[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        await admin.start()
        names = await admin.list_topics()
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailableError(f"cannot list topics on {settings.kafka_bootstrap_servers}: {exc!r}") from exc
    finally:
        await admin.close()
    pattern = re.compile(rf"^{re.escape(settings.topic_prefix)}\..+\.v1\.g(\d+)$")
    return {int(m.group(1)) for name in names if (m := pattern.match(name))}


def _seed(manifest: Manifest, changes: list[Change]) -> Replayed:
    """A resumed generation: the sink's latest records, parsed once, as the fold's starting point."""
    shards = {p: Rebuilt() for p in manifest.start}
    for c in changes:
        if c.name == "alerts":
            shards[c.partition].alerts[c.key] = Alert.model_validate_json(c.value)
        elif c.name in STATE_TYPES:
            shards[c.partition].states.setdefault(c.name, {})[c.key] = STATE_TYPES[c.name].model_validate_json(c.value)
        else:
            raise ReplayError(f"the generation holds projection {c.name!r}, unknown to this hooklog: "
                              "resume it with the version that started it")
    replayed = Replayed(manifest.raw_topic, dict(manifest.start), dict(manifest.end), dict(manifest.positions),
                        shards, base_dead=manifest.dead)
    replayed.alerts_taken = {p: len(s.alerts) for p, s in shards.items()}
    return replayed


async def plan_range(settings: Settings, since: Bound = None, until: Bound = None) -> Replayed:
    """An empty replay of `[since, until)`: the offsets are fixed now, before anything is folded."""
    consumer = _consumer(settings, FETCH_BYTES)
    await _started(consumer, settings)
    try:
        return await _plan(consumer, settings.topic("raw"), since, until, None, False)
    finally:
        await consumer.stop()


def _lock(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path.with_name(path.name + ".lock"), "wb")  # noqa: SIM115 - held until close
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ReplayError(f"another replay is writing {path.name} (lock held): wait for it to end") from None
    return handle


@dataclass
class Generation:
    """A generation being written: its manifest, its sink, and the fold to continue from."""

    settings: Settings
    manifest: Manifest
    path: Path
    sink: TopicSink | FileSink
    lock: IO[bytes]
    seed: Replayed

    @property
    def label(self) -> str:
        if self.manifest.file:
            return f"snapshot {self.manifest.file}"
        return f"generation {self.manifest.generation} ({self.settings.topic('*')}.g{self.manifest.generation})"

    @classmethod
    async def open(cls, settings: Settings, *, since: Bound = None, until: Bound = None,
                   to_file: Path | None = None, resume: bool = False) -> Generation:
        """Start a new generation (the next number, or a snapshot file), or reopen the unfinished one."""
        number: int | None = None
        sink: TopicSink | FileSink
        if to_file is not None:
            target = Path(to_file).resolve()
            path, sink = target.with_name(target.name + ".checkpoint.json"), FileSink(target)
        else:
            local = local_generations(settings)
            running = sorted(n for n, m in local.items() if m.status == "running")
            if running and not resume:
                raise ReplayError(f"generation {running[-1]} is unfinished ({manifest_path(settings, running[-1])}): "
                                  "finish it with `hooklog replay --resume`, or delete that file to abandon it")
            if resume and not running:
                raise ReplayError(f"no unfinished generation of {settings.topic_prefix} in {settings.data_dir}/replay")
            number = running[-1] if resume else max({0, *local, *await _topic_generations(settings)}) + 1
            path, sink = manifest_path(settings, number), TopicSink(settings, number)
        lock = _lock(path)
        try:
            existing = Manifest.model_validate_json(path.read_bytes()) if path.exists() else None
            if resume:
                if existing is None or existing.status != "running":
                    raise ReplayError(f"nothing to resume at {path}: run without --resume")
                if since is not None or until is not None:
                    raise ReplayError("--resume continues the generation's own range: drop --from/--until")
                await sink.open(len(existing.start), create=False)
                return cls(settings, existing, path, sink, lock, _seed(existing, await sink.load()))
            if existing is not None and existing.status == "running":
                raise ReplayError(f"{path} is unfinished: add --resume, or delete it to start over")
            plan = await plan_range(settings, since, until)
            manifest = Manifest(raw_topic=plan.topic, generation=number, file=str(Path(to_file).resolve()) if to_file else None,
                                since=_bound_text(since), until=_bound_text(until), start=plan.start, end=plan.end,
                                positions=plan.positions, created_at=datetime.now(UTC))
            manifest.save(path)
            await sink.open(len(plan.start), create=True)
            return cls(settings, manifest, path, sink, lock, plan)
        except BaseException:
            lock.close()
            raise

    async def checkpoint(self, replayed: Replayed) -> None:
        """Write what changed, wait for it to be durable, then (only then) move the manifest on."""
        await self.sink.write(replayed.take_changes())
        await self.sink.flush()
        m = self.manifest
        m.positions, m.end, m.events, m.dead = dict(replayed.positions), dict(replayed.end), replayed.events, replayed.dead
        m.save(self.path)

    async def run(self, on_progress: Progress | None = None, *, extend: bool = False,
                  checkpoint_every_s: float = 5.0, fetch_bytes: int = FETCH_BYTES) -> Replayed:
        """Fold to the manifest's end (`extend`: to the raw topic's end now) and finish the sink."""
        replayed = await replay_topic(self.settings, previous=self.seed, extend=extend, on_progress=on_progress,
                                      checkpoint=self.checkpoint, checkpoint_every_s=checkpoint_every_s,
                                      fetch_bytes=fetch_bytes)
        self.seed = replayed
        self.manifest.status, self.manifest.finished_at = "done", datetime.now(UTC)
        await self.sink.finish(replayed, self.manifest)
        self.manifest.save(self.path)
        return replayed

    async def __aenter__(self) -> Generation:
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.sink.close(self.manifest.status == "done")
        finally:
            self.lock.close()
