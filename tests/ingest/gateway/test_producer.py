"""The raw producer's partitioner: the same partition for a key as aiokafka's (Java's) default."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from floor.kafka.partitioning import key_partitioner
from floor.settings import Settings
from ingest.gateway.producer import RawProducer

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("partitions", [1, 2, 4, 7, 12])
def test_keys_land_where_the_default_partitioner_puts_them(partitions: int) -> None:
    rng = random.Random(partitions)
    keys = [rng.randbytes(rng.randint(0, 80)) for _ in range(2_000)] + [b"ord-42", "ñandú🚀".encode()]
    all_partitions = list(range(partitions))
    for key in keys + keys:  # the second pass is answered from the cache
        assert key_partitioner(key, all_partitions, all_partitions) == DefaultPartitioner()(key, all_partitions, [])


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    assert key_partitioner(None, [0, 1, 2, 3], [2]) == 2


async def test_the_producer_uses_it() -> None:
    producer = RawProducer(Settings(kafka_bootstrap_servers="127.0.0.1:9"), "t", ack_timeout_s=1)._new_producer()  # noqa: SLF001
    try:
        assert producer._partitioner is key_partitioner  # noqa: SLF001 - the setting under test
    finally:
        await producer.stop()
