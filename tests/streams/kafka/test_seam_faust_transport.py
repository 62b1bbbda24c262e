"""The consumer's rewind of never-committed partitions (streams/kafka/seam/faust_transport.py):
aiokafka's `seek_to_committed` still leaves such a partition where the fetcher got to (the gap
Faust then committed over), and hooklog's seek puts it back at the beginning, on the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from streams.kafka.seam import never_committed, seek_to_committed_or_beginning


@pytest.mark.unit
def test_only_stream_partitions_without_a_commit_are_rewound() -> None:
    committed = {"raw-0": None, "raw-1": 0, "raw-2": 7, "orders-changelog-0": None}
    assert never_committed(committed, lambda tp: tp.endswith("changelog-0")) == ["raw-0", "raw-1"]
    assert never_committed({}, lambda tp: False) == []


@pytest.fixture
async def read_ahead(own_topics: None, make_settings: Callable[..., Settings]) -> AsyncIterator[AIOKafkaConsumer]:
    """A group member assigned the raw topic's partitions 0 and 1, 3 records in each; partition 1
    committed at 2, partition 0 never; every record read (the position is 3 on both)."""
    settings = make_settings()
    await ensure_topics(settings)
    bootstrap, topic = settings.kafka_bootstrap_servers, settings.topic("raw")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition in (0, 1):
            for i in range(3):
                await producer.send_and_wait(topic, b"%d" % i, key=b"k", partition=partition)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"{settings.topic_prefix}-g",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    consumer.assign(tps)
    await consumer.commit({tps[1]: 2})
    await consumer.seek_to_beginning(*tps)
    read = 0
    while read < 6:
        read += sum(len(records) for records in (await consumer.getmany(timeout_ms=5000)).values())
    assert [await consumer.position(tp) for tp in tps] == [3, 3]
    try:
        yield consumer
    finally:
        await consumer.stop()


@pytest.mark.kafka
async def test_aiokafka_still_leaves_a_never_committed_partition_where_it_was(
        read_ahead: AIOKafkaConsumer) -> None:
    tp0, tp1 = sorted(read_ahead.assignment())
    assert await read_ahead.seek_to_committed() == {tp0: None, tp1: 2}
    # if this starts answering 0, aiokafka fixed it: RewindingConsumer may go (re-check the e2e tests)
    assert [await read_ahead.position(tp) for tp in (tp0, tp1)] == [3, 2]


@pytest.mark.kafka
async def test_the_seam_seeks_a_never_committed_partition_to_its_beginning(read_ahead: AIOKafkaConsumer) -> None:
    tp0, tp1 = sorted(read_ahead.assignment())
    assert await seek_to_committed_or_beginning(read_ahead, lambda tp: False) == {tp0: None, tp1: 2}
    # set on return, not "awaiting reset": Faust's stall detector reads it from another thread,
    # and aiokafka asserts it is set (a `seek_to_beginning`'s reset window crashed a worker)
    states = read_ahead._subscription.subscription.assignment  # noqa: SLF001 - what Faust reads
    assert all(states.state_value(tp).has_valid_position for tp in (tp0, tp1))
    assert [await read_ahead.position(tp) for tp in (tp0, tp1)] == [0, 2]
    again = await read_ahead.getmany(tp0, timeout_ms=5000)
    assert [r.offset for r in again[tp0]][:1] == [0]  # the records from before are read again


@pytest.mark.kafka
async def test_a_changelog_partition_is_left_to_faust(read_ahead: AIOKafkaConsumer) -> None:
    tp0, tp1 = sorted(read_ahead.assignment())
    await seek_to_committed_or_beginning(read_ahead, lambda tp: tp == tp0)
    assert [await read_ahead.position(tp) for tp in (tp0, tp1)] == [3, 2]
