"""Read a bounded slice of a topic (from a time or the beginning, up to its current end).

Used by the query API for alerts and dead letters, by replay/verify, and by redrive: no
consumer group, nothing committed, so reading never disturbs the live worker.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from floor.kafka import clients
from floor.kafka.metadata import topic_partitions
from floor.settings import Settings
from floor.seam.aiokafka_consumer import stop_consumer
from schemas.errors import BrokerUnavailableError


@asynccontextmanager
async def reader(cluster: Settings, *, fetch_bytes: int, timeout_s: float, doing: str = "reach Kafka",
                 ) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer with no group and no commits, for bounded reads (assign and seek it);
    BrokerUnavailableError when it cannot start, and a stop that never hangs (the seam)."""
    consumer = clients.consumer(cluster, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", fetch_max_bytes=fetch_bytes,
                                max_partition_fetch_bytes=fetch_bytes, request_timeout_ms=int(timeout_s * 1000))
    try:
        await consumer.start()
    except Exception as exc:  # noqa: BLE001 - aiokafka raises several unrelated types here
        await consumer.stop()
        raise BrokerUnavailableError.unreachable(cluster.kafka_bootstrap_servers, exc, doing=doing) from exc
    try:
        yield consumer
    finally:
        await stop_consumer(consumer)


async def read_range(
    cluster: Settings, topic: str, *, since: datetime | None = None, timeout_s: float = 30.0,
    batch_bytes: int = 8 * 1024 * 1024,
) -> AsyncIterator[list[ConsumerRecord]]:
    """Yield batches of records from `since` (or the beginning) to the end seen at the start."""
    async with reader(cluster, fetch_bytes=batch_bytes, timeout_s=timeout_s, doing=f"read {topic}") as consumer:
        # partitions_for_topic only knows subscribed topics; ask the cluster for this one.
        tps = [TopicPartition(topic, p) for p in sorted(await topic_partitions(cluster, topic, timeout_s=timeout_s))]
        if not tps:
            return
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        # explicit offsets: seek_to_beginning after end_offsets was seen to land at the end
        if since is None:
            start = await consumer.beginning_offsets(tps)
        else:
            found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
            start = {tp: found[tp].offset if found.get(tp) else end[tp] for tp in tps}
        for tp in tps:
            consumer.seek(tp, start[tp])
        deadline = time.monotonic() + timeout_s
        pending = [tp for tp in tps if await consumer.position(tp) < end[tp]]
        while pending:
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(f"reading {topic} took longer than {timeout_s}s")
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=10_000)
            for tp, records in batches.items():
                kept = [r for r in records if r.offset < end[tp]]
                if kept:
                    yield kept
            pending = [tp for tp in pending if await consumer.position(tp) < end[tp]]


async def read_partition_range(
    cluster: Settings, topic: str, partition: int, *, request_timeout_s: float = 30.0, deadline_s: float = 60.0,
    batch_bytes: int = 8 * 1024 * 1024, max_records: int | None = None,
) -> AsyncIterator[list[ConsumerRecord]]:
    """Yield batches of one partition's records, from its beginning to its end as of now (no
    group); BrokerUnavailableError once the read has taken `deadline_s`."""
    async with reader(cluster, fetch_bytes=batch_bytes, timeout_s=request_timeout_s, doing=f"read {topic}") as consumer:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, (await consumer.beginning_offsets([tp]))[tp])
        deadline = time.monotonic() + deadline_s
        while await consumer.position(tp) < end:
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(f"reading {topic}[{partition}] to offset {end} took over {deadline_s:g} s")
            for batch in (await consumer.getmany(tp, timeout_ms=500, max_records=max_records)).values():
                kept = [r for r in batch if r.offset < end]
                if kept:
                    yield kept
