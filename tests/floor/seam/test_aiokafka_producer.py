"""floor/seam/aiokafka_producer.py against the installed aiokafka (its pins: tests/floor/seam/test_pins.py): `DirectAppend`
puts every record where aiokafka's own `send` would, on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from floor.kafka.partitioning import partition_for
from floor.kafka.topics import ensure_topics
from floor.seam import aiokafka_producer as seam
from floor.seam.pins import RELIANCES
from floor.settings import Settings
from ingest.gateway.producer import RawProducer
from tests.kafka_fixtures import read_topic


@pytest.mark.unit
def test_direct_append_records_its_pins() -> None:
    assert {r.target.rsplit(":", 1)[1] for r in RELIANCES if r.item.endswith("DirectAppend")} >= {
        "AIOKafkaProducer.send", "AIOKafkaProducer.__init__", "MessageAccumulator.add_message"}


@pytest.mark.unit
async def test_the_private_attributes_it_reads_exist_on_a_producer() -> None:
    producer = RawProducer(Settings(kafka_bootstrap_servers="127.0.0.1:9"), "t", ack_timeout_s=1)._new_producer()  # noqa: SLF001
    try:
        append = seam.DirectAppend(producer, "t")
        assert append._partitions() is None  # noqa: SLF001 - no metadata yet: `send`'s path
        assert callable(producer._message_accumulator.add_message)  # noqa: SLF001
    finally:
        await producer.stop()


@pytest.mark.kafka
async def test_records_land_on_the_partition_of_their_key_and_a_large_one_through_send(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(partitions=3)
    await ensure_topics(settings)
    topic = settings.topic("raw")
    producer = RawProducer(settings, topic, ack_timeout_s=5)._new_producer()  # noqa: SLF001
    await producer.start()
    try:
        append = seam.DirectAppend(producer, topic)
        keys = [f"ord-{i}".encode() for i in range(60)]
        first = await append.append(keys[0], b"v0", 1_700_000_000_000, 5.0)  # no metadata yet: `send`
        await first
        assert append._partitions() is not None  # noqa: SLF001 - now cached
        futures = [await append.append(k, b"v" + k, 1_700_000_000_000, 5.0) for k in keys[1:]]
        big = b"x" * producer._max_request_size  # noqa: SLF001 - too large: `send` refuses it, as before
        with pytest.raises(Exception, match="larger than the maximum request size"):
            await append.append(b"big", big, 1_700_000_000_000, 5.0)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    records = await read_topic(settings.kafka_bootstrap_servers, topic)
    assert sorted(r.key for r in records) == sorted(keys)
    for record in records:
        assert record.partition == partition_for(record.key, 3), record.key
        assert record.timestamp == 1_700_000_000_000
