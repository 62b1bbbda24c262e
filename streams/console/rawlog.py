"""Bounded reads of hooklog's topics for the console: no group, nothing committed, capped.

A page never reads a topic without a bound: a key's raw records come from its one partition,
starting at the first receive time its state knows (minus a margin), and stop at the end seen at
the start or after `cap` records; recent alerts/dead letters read at most `cap` records per
partition, the newest ones. Every answer says whether the cap cut it short.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from floor.kafka.metadata import topic_partitions
from floor.kafka.topic_reader import reader
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError

FETCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Slice:
    records: list[ConsumerRecord]
    scanned: int
    capped: bool


def _consumer(cluster: Settings, timeout_s: float) -> AbstractAsyncContextManager[AIOKafkaConsumer]:
    return reader(cluster, fetch_bytes=FETCH_BYTES, timeout_s=timeout_s)


async def _partitions(cluster: Settings, topic: str, timeout_s: float) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(await topic_partitions(cluster, topic, timeout_s=timeout_s))]


async def _drain(consumer: AIOKafkaConsumer, start: dict[TopicPartition, int], end: dict[TopicPartition, int],
                 cap: int, keep: object, timeout_s: float) -> Slice:
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    kept: list[ConsumerRecord] = []
    scanned = 0
    deadline = time.monotonic() + timeout_s
    pending = [tp for tp in start if start[tp] < end[tp]]
    while pending and scanned < cap:
        if time.monotonic() > deadline:
            raise BrokerUnavailableError(f"reading {pending[0].topic} took longer than {timeout_s:g}s")
        batches = await consumer.getmany(*pending, timeout_ms=300, max_records=min(5000, cap - scanned))
        for tp, records in batches.items():
            for record in records:
                if record.offset < end[tp] and scanned < cap:
                    scanned += 1
                    if keep(record):  # type: ignore[operator]
                        kept.append(record)
        pending = [tp for tp in pending if await consumer.position(tp) < end[tp]]
    return Slice(kept, scanned, bool(pending))


async def read_key(cluster: Settings, topic: str, partition: int, key: bytes, since: datetime | None,
                   cap: int = 20_000, timeout_s: float = 10.0) -> Slice:
    """The records of `key` on its partition from `since` (or the beginning) to the current end."""
    async with _consumer(cluster, timeout_s) as consumer:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = await consumer.end_offsets([tp])
        if since is None:
            start = await consumer.beginning_offsets([tp])
        else:
            found = await consumer.offsets_for_times({tp: max(0, int(since.timestamp() * 1000))})
            start = {tp: found[tp].offset if found.get(tp) else end[tp]}
        return await _drain(consumer, start, end, cap, lambda r: r.key == key, timeout_s)


async def read_recent(cluster: Settings, topic: str, since: datetime, cap_per_partition: int = 5_000,
                      timeout_s: float = 10.0) -> Slice:
    """Records since `since`, at most the newest `cap_per_partition` of each partition."""
    async with _consumer(cluster, timeout_s) as consumer:
        tps = await _partitions(cluster, topic, timeout_s)
        if not tps:
            return Slice([], 0, False)
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        begin = await consumer.beginning_offsets(tps)
        found = await consumer.offsets_for_times({tp: max(0, int(since.timestamp() * 1000)) for tp in tps})
        start = {tp: found[tp].offset if found.get(tp) else end[tp] for tp in tps}
        capped = any(end[tp] - start[tp] > cap_per_partition for tp in tps)
        start = {tp: max(start[tp], begin[tp], end[tp] - cap_per_partition) for tp in tps}
        got = await _drain(consumer, start, end, cap_per_partition * len(tps), lambda r: True, timeout_s)
        return Slice(got.records, got.scanned, capped or got.capped)


async def record_at(cluster: Settings, topic: str, partition: int, offset: int, timeout_s: float = 10.0) -> bytes | None:
    """The value of one record, or None when that offset holds none (any more)."""
    async with _consumer(cluster, timeout_s) as consumer:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = await consumer.end_offsets([tp])
        if not 0 <= offset < end[tp]:
            return None
        got = await _drain(consumer, {tp: offset}, {tp: offset + 1}, 1, lambda r: r.offset == offset, timeout_s)
        return got.records[0].value if got.records else None


async def topic_size(cluster: Settings, topic: str, timeout_s: float = 5.0) -> int:
    """Records the topic holds now (end - beginning offsets, every partition)."""
    async with _consumer(cluster, timeout_s) as consumer:
        tps = await _partitions(cluster, topic, timeout_s)
        if not tps:
            return 0
        end, begin = await consumer.end_offsets(tps), await consumer.beginning_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)


def newest_first(records: Sequence[ConsumerRecord]) -> list[ConsumerRecord]:
    return sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset), reverse=True)
