"""Replay generations: where a replay is written, how it resumes, and how old ones go away.

A generation is `[start, end)` of every raw partition, fixed when it begins. It is written to
compacted topics `<prefix>.<projection>.v1.g<N>` and `<prefix>.alerts.v1.g<N>` (each record in
the partition of the raw records it was folded from), or to a JSONL snapshot (`--to`). Its
manifest (`<data_dir>/replay/<prefix>.g<N>.json`, or `<file>.checkpoint.json`) holds the offsets
folded so far and is rewritten only after the states up to them are acked (or fsynced), so a
resumed replay reloads the sink and continues from exactly there. Once a generation is promoted,
the older ones are superseded: `prune_generations` deletes their topics and manifests.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import BaseModel

from projections.replay import Rebuilt
from schemas.errors import BrokerUnavailableError
from schemas.settings import Settings
from streams.lazy_table import json_of
from streams.replay import (FETCH_BYTES, STATE_TYPES, Bound, Change, Progress, Replayed, ReplayError, alert_bytes,
                            bound_text, consumer_for, plan, replay_topic, started)
from streams.kafka.names import generation_topic, replay_dir
from streams.kafka.topic_reader import read_range


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


def generation_topics(settings: Settings, generation: int) -> dict[str, str]:
    """projection (or "alerts") -> the generation's topic."""
    return {name: generation_topic(settings, name, generation) for name in (*STATE_TYPES, "alerts")}


class TopicSink:
    """A generation's compacted topics; a record goes to the partition of its raw records."""

    def __init__(self, settings: Settings, generation: int) -> None:
        self.settings = settings
        self.topics = generation_topics(settings, generation)
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
            for name, table in sorted(replayed.state_records().items()):
                for key, (partition, value) in sorted(table.items()):
                    fh.write(_line("state", Change(name, partition, key, value)))
            for partition, shard in sorted(replayed.shards.items()):
                for aid in sorted(shard.alerts):
                    fh.write(_line("alert", Change("alerts", partition, aid, json_of(shard.alerts, aid, alert_bytes))))
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
    return replay_dir(settings) / f"{settings.topic_prefix}.g{generation}.json"


def local_generations(settings: Settings) -> dict[int, Manifest]:
    """This data dir's generation manifests, by number."""
    pattern = re.compile(rf"^{re.escape(settings.topic_prefix)}\.g(\d+)\.json$")
    folder = replay_dir(settings)
    found = ((pattern.match(p.name), p) for p in folder.glob("*.json")) if folder.is_dir() else ()
    return {int(m.group(1)): Manifest.model_validate_json(p.read_bytes()) for m, p in found if m}


async def _admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        await admin.start()
    except (KafkaError, OSError) as exc:
        await admin.close()
        raise BrokerUnavailableError(f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc!r}") from exc
    return admin


async def topic_generations(settings: Settings) -> dict[int, list[str]]:
    """Generation number -> its topics on the broker (from any data dir)."""
    admin = await _admin(settings)
    try:
        names = await admin.list_topics()
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailableError(f"cannot list topics on {settings.kafka_bootstrap_servers}: {exc!r}") from exc
    finally:
        await admin.close()
    pattern = re.compile(rf"^{re.escape(settings.topic_prefix)}\..+\.v1\.g(\d+)$")
    found: dict[int, list[str]] = {}
    for name in sorted(names):
        if m := pattern.match(name):
            found.setdefault(int(m.group(1)), []).append(name)
    return found


@dataclass
class Pruned:
    """What `prune_generations` deleted, and the older generations it kept because they are unfinished."""

    generations: list[int] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    kept_running: list[int] = field(default_factory=list)


async def prune_generations(settings: Settings, below: int, timeout_s: float = 60.0) -> Pruned:
    """Delete every generation numbered below `below` (topics and local manifests), except one
    still running here (it may be resumed). Run after promoting `below`: older generations are
    superseded, and their compacted topics would otherwise stay on the broker forever."""
    local, remote = local_generations(settings), await topic_generations(settings)
    pruned = Pruned()
    for number in sorted(n for n in {*local, *remote} if n < below):
        if number in local and local[number].status == "running":
            pruned.kept_running.append(number)
            continue
        pruned.generations.append(number)
        pruned.topics += remote.get(number, [])
    if pruned.topics:
        admin = await _admin(settings)
        try:
            await admin.delete_topics(pruned.topics)
            deadline = time.monotonic() + timeout_s  # deletion is asynchronous on the broker
            while set(pruned.topics) & set(await admin.list_topics()):
                if time.monotonic() > deadline:
                    raise ReplayError(f"{pruned.topics} still listed after {timeout_s:.0f}s: run it again")
                await asyncio.sleep(0.2)
        except (KafkaError, OSError) as exc:
            raise ReplayError(f"deleting {pruned.topics} failed ({exc!r}); run it again") from exc
        finally:
            await admin.close()
    for number in pruned.generations:
        path = manifest_path(settings, number)
        for leftover in (path, path.with_name(path.name + ".lock"), path.with_name(path.name + ".tmp")):
            leftover.unlink(missing_ok=True)
    return pruned


async def plan_range(settings: Settings, since: Bound = None, until: Bound = None) -> Replayed:
    """An empty replay of `[since, until)`: the offsets are fixed now, before anything is folded."""
    bootstrap = settings.kafka_bootstrap_servers
    consumer = await started(consumer_for(bootstrap, FETCH_BYTES), bootstrap)
    try:
        return await plan(consumer, settings.topic("raw"), since, until, None, False)
    finally:
        await consumer.stop()


def _seed(manifest: Manifest, changes: list[Change]) -> Replayed:
    """A resumed generation: the sink's latest records as the fold's starting point (parsed only
    where the fold touches them again)."""
    replayed = Replayed(manifest.raw_topic, dict(manifest.start), dict(manifest.end), dict(manifest.positions),
                        {p: Rebuilt() for p in manifest.start}, base_dead=manifest.dead)
    replayed.put_changes(changes)
    replayed.alerts_taken = {p: len(s.alerts) for p, s in replayed.shards.items()}
    return replayed


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
            number = running[-1] if resume else max({0, *local, *await topic_generations(settings)}) + 1
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
            planned = await plan_range(settings, since, until)
            manifest = Manifest(raw_topic=planned.topic, generation=number, file=str(Path(to_file).resolve()) if to_file else None,
                                since=bound_text(since), until=bound_text(until), start=planned.start, end=planned.end,
                                positions=planned.positions, created_at=datetime.now(UTC))
            manifest.save(path)
            await sink.open(len(planned.start), create=True)
            return cls(settings, manifest, path, sink, lock, planned)
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

    async def run(self, on_progress: Progress | None = None, *, extend: bool = False, checkpoint_every_s: float = 5.0,
                  fetch_bytes: int = FETCH_BYTES, processes: int | None = None) -> Replayed:
        """Fold to the manifest's end (`extend`: to the raw topic's end now) and finish the sink."""
        replayed = await replay_topic(self.settings, previous=self.seed, extend=extend, on_progress=on_progress,
                                      checkpoint=self.checkpoint, checkpoint_every_s=checkpoint_every_s,
                                      fetch_bytes=fetch_bytes, processes=processes)
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
