"""The one place ingest touches aiokafka's private parts: appending a record without `send`'s
per-record metadata round.

`AIOKafkaProducer.send` rebuilds the topic's partition set four times per record (the metadata
wait, `_partition`'s two `list(set)`s, the available-partitions scan), sizes it, logs it and makes
a `TopicPartition`, before `MessageAccumulator.add_message` appends it to the partition's open
batch (~12 µs a record under load, bench/PROPOSED_CHANGES.md). `DirectAppend` does only what is
left for ingest's records (value and key are bytes, no headers, not transactional): it picks the
partition with ingest's own partitioner from the cached partition list of the topic, rebuilt
whenever aiokafka's metadata for it changes, and calls `add_message` with it. aiokafka's own
batching is unchanged: records queued while a produce request is in flight share the next batch.
Anything else (unknown topic metadata, a value near `max_request_size`) goes through `send`.

It names what it relies on with `relies_on` (the one pins module, floor/seam/pins.py);
tests/floor/seam/test_pins.py recomputes the digests, so an aiokafka upgrade that changes one of
those bodies fails loudly.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from floor.kafka.partitioning import partition_for
from floor.seam.pins import relies_on

SIZE_MARGIN = 1024  # record overhead allowed for beside key + value before `send` checks the size


@relies_on(
    # what `send` does for a record, so skipping it skips nothing ingest needs
    ("aiokafka.producer.producer:AIOKafkaProducer.send", "08ce81263f439838"),
    # where `_message_accumulator`, `_metadata` and `_max_request_size` are set
    ("aiokafka.producer.producer:AIOKafkaProducer.__init__", "fd6f2966fb3dc883"),
    ("aiokafka.producer.message_accumulator:MessageAccumulator.add_message", "56ff7e6c19185f83"),
    # `_partitions[topic]` is a new dict on every metadata update (the cache's key)
    ("aiokafka.cluster:ClusterMetadata.update_metadata", "6c2cce8f96dcc199"),
    ("aiokafka.cluster:ClusterMetadata.partitions_for_topic", "5a3e84a15bc0a900"),
)
class DirectAppend:
    """`append(key, value, timestamp_ms, timeout_s)`: the record's delivery future, as `send`
    returns it."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._accumulator: Any = producer._message_accumulator  # noqa: SLF001 - the seam
        self._metadata: Any = producer._metadata  # noqa: SLF001
        self._max_size: int = producer._max_request_size - SIZE_MARGIN  # noqa: SLF001
        self._seen: object = None  # aiokafka's partition dict the cached list was built from
        self._tps: list[TopicPartition] = []

    def _partitions(self) -> list[TopicPartition] | None:
        """The topic's partitions by number, None while aiokafka has no metadata for it."""
        current = self._metadata._partitions.get(self._topic)  # noqa: SLF001
        if current is not self._seen:
            parts = self._metadata.partitions_for_topic(self._topic)
            self._tps = [TopicPartition(self._topic, p) for p in sorted(parts)] if parts else []
            self._seen = current
        return self._tps or None

    async def append(self, key: bytes, value: bytes, timestamp_ms: int, timeout_s: float) -> asyncio.Future[Any]:
        """Queue the record; waits (up to `timeout_s`, then KafkaTimeoutError) only while its
        partition's batch is full, as `send` does."""
        tps = self._partitions()
        if tps is None or len(value) + len(key) > self._max_size or tps[-1].partition != len(tps) - 1:
            async with asyncio.timeout(timeout_s):
                return await self._producer.send(self._topic, value, key=key, timestamp_ms=timestamp_ms)
        tp = tps[partition_for(key, len(tps))]
        return await self._accumulator.add_message(tp, key, value, timeout_s, timestamp_ms=timestamp_ms)
