"""One key -> partition function: the Java client's murmur2, equal to where Kafka stored the record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import DefaultPartitioner

from floor.kafka.partitioning import partition_for
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from ingest.gateway.producer import RawProducer
from schemas.envelope import new_envelope
from tests.kafka_fixtures import read_topic

KEYS = [f"ord-{i}" for i in range(200)] + ["user@example.com", "kuenta-credit-9", "shop:41", "ñandú-é", "a b"]


@pytest.mark.unit
def test_partition_for_is_the_default_partitioner() -> None:
    for partitions in (1, 2, 4, 6, 7, 64):
        everything = list(range(partitions))
        for key in KEYS:
            assert partition_for(key, partitions) == DefaultPartitioner()(key.encode(), everything, everything)
            assert partition_for(key.encode(), partitions) == partition_for(key, partitions)


@pytest.mark.unit
def test_faust_table_route_would_disagree() -> None:
    """Why hooklog routes itself: Faust's table_route hashes the JSON key (quotes included)."""
    disagree = sum(partition_for(k, 6) != partition_for(f'"{k}"', 6) for k in KEYS)
    assert disagree > len(KEYS) // 2


@pytest.mark.kafka
async def test_the_routing_partition_is_the_partition_kafka_stored(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(partitions=6)
    await ensure_topics(settings, timeout_s=30)
    producer = RawProducer(settings, settings.topic("raw"), ack_timeout_s=10)
    try:
        for key in KEYS:
            envelope = new_envelope(source="koywe", key=key, event_name="PENDING", body=b'{"x":1}',
                                    received_at=datetime.now(UTC))
            await producer.send(envelope)
    finally:
        await producer.stop()
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))
    assert len(records) == len(KEYS)
    stored = {r.key.decode(): r.partition for r in records}
    assert set(stored.values()) == set(range(6))  # the keys cover every partition
    assert {k: partition_for(k, 6) for k in KEYS} == stored
