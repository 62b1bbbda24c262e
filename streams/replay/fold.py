"""Fold a slice of the raw log in this process: plan the offsets, read aiokafka batches, fold
them with the worker's fold step (`projections.replay.fold_into`) into each partition's states."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from floor.settings import Settings
from floor.kafka import clients
from floor.kafka.metadata import topic_partitions
from projections.history import HISTORY_LIMIT
from projections.replay import Rebuilt, fold_into
from schemas.errors import BrokerUnavailableError
from streams.replay.model import Bound, Checkpoint, Progress, Replayed, ReplayError

#: Per-partition fetch size. Measured on 200k envelopes: 1 MiB keeps the fold fed without the
#: stalls of larger fetches (the fetcher only runs between folds, on the same event loop).
FETCH_BYTES = 1 << 20
STALL_S = 30.0


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


def consumer_for(cluster: Settings, fetch_bytes: int) -> AIOKafkaConsumer:
    """A group-less reader: replay commits nothing and is invisible to the worker."""
    return clients.consumer(
        cluster, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_bytes=max(fetch_bytes * 4, 1 << 20),
        max_partition_fetch_bytes=fetch_bytes, client_id="hooklog-replay", request_timeout_ms=30_000,
    )


async def started(consumer: AIOKafkaConsumer, cluster: Settings) -> AIOKafkaConsumer:
    try:
        await asyncio.wait_for(consumer.start(), 30)
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        await consumer.stop()
        raise BrokerUnavailableError.unreachable(cluster.kafka_bootstrap_servers, exc) from exc
    return consumer


async def _topic_partitions(cluster: Settings, topic: str, only: set[int] | None) -> list[TopicPartition]:
    partitions = await topic_partitions(cluster, topic)  # the topic is not subscribed: ask the cluster
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
               previous: Replayed | None, extend: bool, only: set[int] | None = None, *, cluster: Settings,
               history_limit: int = HISTORY_LIMIT) -> Replayed:
    """A new slice of the log, or `previous` (its end moved to `until`/now when extending)."""
    tps = await _topic_partitions(cluster, topic, only if previous is None else None)
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
                        {p: Rebuilt(history_limit=history_limit) for p in start})
    if not extend:
        return previous
    end = await _resolve(consumer, tps, until, last, first, last)
    previous.end = {p: max(end[p], previous.end[p]) for p in end}
    return previous


async def fold_batches(consumer: AIOKafkaConsumer, replayed: Replayed, on_progress: Progress | None,
                       checkpoint: Checkpoint | None, every_s: float) -> None:
    """Fold `replayed`'s partitions from their positions to their ends, batch by batch."""
    topic, end, positions = replayed.topic, replayed.end, replayed.positions
    pending = {TopicPartition(topic, p) for p in end if positions[p] < end[p]}
    if on_progress:
        on_progress(replayed.events, replayed.total)
    if not pending:  # no re-assignment just before the consumer stops (floor/seam/aiokafka_consumer.py)
        if checkpoint is not None:
            await checkpoint(replayed)
        return
    consumer.assign(list(pending))  # only these: an assigned partition is fetched even if unread
    for tp in pending:
        consumer.seek(tp, positions[tp.partition])
    last_flush = last_data = time.monotonic()
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000)
        now = time.monotonic()
        if not batches and now - last_data > STALL_S:
            raise ReplayError(f"no records from {topic} for {STALL_S:.0f}s although offsets up to {end} "
                              f"were announced (positions {positions}); is the broker healthy?")
        for tp, records in batches.items():
            p = tp.partition
            fold_records(replayed, p, records)
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


def fold_records(replayed: Replayed, partition: int, records: list[Any]) -> None:
    """Fold one partition's records (aiokafka's, or any `projections.replay.RawRecord`) up to
    its end into its shard, with the worker's fold step (`projections.replay.fold_into`).
    No logging, no per-record bookkeeping here: this is the per-event loop."""
    stop = replayed.end[partition]
    if records and records[-1].offset >= stop:
        records = [r for r in records if r.offset < stop]
    touched = replayed.dirty[partition] if replayed.dirty else None
    for offset, reason in fold_into(replayed.shards[partition], records, touched):
        replayed.undecodable.append((partition, offset, reason))
