"""Where a generation is written: its compacted topics, or a JSONL snapshot file.

Both take `Change`s as JSON, flush them durably (acked by Kafka, or fsynced) before the manifest
moves, and load them back when a generation resumes.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import IO

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from floor.kafka import clients
from floor.kafka.names import generation_topic
from floor.kafka.replication import TopicSpec, create_topics
from floor.kafka.topic_reader import read_range
from floor.settings import Settings
from streams.replay.lazy_table import json_of
from streams.replay.model import STATE_TYPES, Change, Manifest, Replayed, ReplayError, alert_bytes


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
            admin = clients.admin(self.settings)
            try:
                await admin.start()
                config = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
                await create_topics(self.settings, admin, [TopicSpec(t, partitions, config) for t in self.topics.values()],
                                    exist_ok=False)
            except TopicAlreadyExistsError as exc:
                raise ReplayError(f"generation topics already exist ({exc}); pick another generation") from exc
            finally:
                await admin.close()
        self.producer = clients.producer(self.settings, acks="all",
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
            async for batch in read_range(self.settings, topic, timeout_s=600):
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
