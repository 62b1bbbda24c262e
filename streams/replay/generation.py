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

import fcntl
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.deletion import delete_topics
from floor.kafka.names import replay_dir
from floor.settings import Settings
from projections.replay import Rebuilt
from schemas.errors import BrokerUnavailableError
from streams.replay.fold import FETCH_BYTES, consumer_for, plan, started
from streams.replay.model import Bound, Change, Manifest, Progress, Replayed, ReplayError, bound_text
from streams.replay.replay import replay_topic
from streams.replay.sinks import FileSink, TopicSink


def manifest_path(settings: Settings, generation: int) -> Path:
    return replay_dir(settings) / f"{settings.topic_prefix}.g{generation}.json"


def local_generations(settings: Settings) -> dict[int, Manifest]:
    """This data dir's generation manifests, by number."""
    pattern = re.compile(rf"^{re.escape(settings.topic_prefix)}\.g(\d+)\.json$")
    folder = replay_dir(settings)
    found = ((pattern.match(p.name), p) for p in folder.glob("*.json")) if folder.is_dir() else ()
    return {int(m.group(1)): Manifest.model_validate_json(p.read_bytes()) for m, p in found if m}


async def _admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = clients.admin(settings)
    try:
        await admin.start()
    except (KafkaError, OSError) as exc:
        await admin.close()
        raise BrokerUnavailableError.unreachable(settings.kafka_bootstrap_servers, exc) from exc
    return admin


async def topic_generations(settings: Settings) -> dict[int, list[str]]:
    """Generation number -> its topics on the broker (from any data dir)."""
    admin = await _admin(settings)
    try:
        names = await admin.list_topics()
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailableError.unreachable(settings.kafka_bootstrap_servers, exc, doing="list topics") from exc
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
            if left := await delete_topics(admin, pruned.topics, timeout_s):
                raise ReplayError(f"{sorted(left)} still listed after {timeout_s:.0f}s: run it again")
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
    consumer = await started(consumer_for(settings, FETCH_BYTES), settings)
    try:
        return await plan(consumer, settings.topic("raw"), since, until, None, False, cluster=settings,
                          history_limit=settings.history_limit)
    finally:
        await consumer.stop()


def _seed(manifest: Manifest, changes: list[Change], history_limit: int) -> Replayed:
    """A resumed generation: the sink's latest records as the fold's starting point (parsed only
    where the fold touches them again)."""
    replayed = Replayed(manifest.raw_topic, dict(manifest.start), dict(manifest.end), dict(manifest.positions),
                        {p: Rebuilt(history_limit=history_limit) for p in manifest.start}, base_dead=manifest.dead)
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
                return cls(settings, existing, path, sink, lock, _seed(existing, await sink.load(), settings.history_limit))
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
