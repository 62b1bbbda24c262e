"""A fold batch's writes handed to RocksDB and aiokafka directly (streams/kafka/seam/
faust_batch_writes.py), on the real broker: the RocksDB bytes and the changelog records are the
ones Faust's own write makes (what its recovery copies back verbatim), the store's persisted
offset is the changelog's last acked offset, changelog records go before published ones, and a
batch's records leave as one closed record batch per partition."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from floor.settings import Settings
from streams.kafka import seam
from tests.kafka_fixtures import read_topic


#: The producer's linger in the direct tests: a record batch left to linger would not be acked
#: within `ACKED_WITHIN_S`, so an ack proves the batch was sent closed, at once.
LINGER_S, ACKED_WITHIN_S = 600.0, 60.0


def _app(settings: Settings, datadir: Path, linger_s: float = 0.005) -> faust.App:
    return faust.App(f"{settings.topic_prefix}-bw", broker=f"kafka://{settings.kafka_bootstrap_servers}",
                     store="rocksdb://", datadir=str(datadir), autodiscover=False,
                     producer_max_batch_size=seam.BATCH_BYTES, producer_linger=linger_s)


async def delivered(writes: seam.BatchWrites) -> list[Any]:
    """`writes.deliver()`, which returns only once the broker acked every record."""
    return await asyncio.wait_for(writes.deliver(), ACKED_WITHIN_S)


class _Event:
    """What `BatchWrites.put` reads of the record whose fold wrote the key: its partition."""

    def __init__(self, partition: int) -> None:
        self.message = seam.AtPartition(partition).message


@pytest.fixture(params=[LINGER_S])
async def started(request: pytest.FixtureRequest, own_topics: None, make_settings: Callable[..., Settings],
                  tmp_path: Path) -> AsyncIterator[tuple[faust.App, faust.Table, str]]:
    """An app whose producer is started on the broker (with the linger of the test's param), its
    `orders` table (2 partitions) and changelog topic, and an output topic."""
    settings = make_settings()
    app = _app(settings, tmp_path, request.param)
    table = app.Table("orders", default=None, partitions=2, key_type=str, value_type=bytes)
    output = settings.topic("orders")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1) for name in (table.changelog_topic.get_topic_name(), output)])
    finally:
        await admin.close()
    await app.producer.start()
    try:
        yield app, table, output
    finally:
        await app.producer.stop()


@pytest.mark.kafka
async def test_direct_writes_store_and_log_what_faust_would_and_persist_the_acked_offset(
        started: tuple[faust.App, faust.Table, str], kafka_bootstrap: str) -> None:
    app, table, output = started
    writes = seam.BatchWrites(app)
    states = {("ord-1", 0): b'{"s":1}', ("ñandú-✓", 1): b'{"s":2}', ("ord-3", 1): b'{"s":3}'}
    for (key, partition), value in states.items():
        writes.put(table, key, value, _Event(partition))
    writes.record(output, b"ord-1", b'{"s":1}', 0)
    metadata = await delivered(writes)
    assert len(metadata) == 3  # one record batch per changelog partition, one for the output partition

    for (key, partition), value in states.items():
        with seam.as_current(seam.AtPartition(partition)):  # Faust's own read (Store._get)
            assert table.get(key) == value
        assert table.data._encode_key(key) == seam.changelog_key(key)  # noqa: SLF001 - Faust's RocksDB key
    changelog = await read_topic(kafka_bootstrap, table.changelog_topic.get_topic_name())
    assert sorted((r.partition, r.key, r.value) for r in changelog) == sorted(
        (partition, seam.changelog_key(key), value) for (key, partition), value in states.items())
    # what Faust's `_on_changelog_sent` keeps: where a restart resumes restoring each partition
    for partition in (0, 1):
        tp = TopicPartition(table.changelog_topic.get_topic_name(), partition)
        last = max(r.offset for r in changelog if r.partition == partition)
        assert table.data.persisted_offset(tp) == last
    assert [(m.topic, m.partition) for m in metadata] == [
        (table.changelog_topic.get_topic_name(), 0), (table.changelog_topic.get_topic_name(), 1), (output, 0)]
    assert [(r.key, r.value) for r in await read_topic(kafka_bootstrap, output)] == [(b"ord-1", b'{"s":1}')]


@pytest.mark.kafka
async def test_a_partition_past_one_batch_size_goes_as_several_batches_in_order(
        started: tuple[faust.App, faust.Table, str], kafka_bootstrap: str) -> None:
    app, _, output = started
    writes = seam.BatchWrites(app)
    value = b"x" * 100_000
    count = 2 * seam.BATCH_BYTES // len(value) + 1  # three batches' worth of one partition
    for i in range(count):
        writes.record(output, b"k%d" % i, value, 1)
    assert len(await delivered(writes)) >= 3
    assert [r.key for r in await read_topic(kafka_bootstrap, output)] == [b"k%d" % i for i in range(count)]


@pytest.mark.kafka
@pytest.mark.parametrize("started", [0.005], indirect=True)
async def test_stock_faust_writes_go_through_its_table_and_producer(
        started: tuple[faust.App, faust.Table, str], kafka_bootstrap: str) -> None:
    app, _, output = started
    writes = seam.BatchWrites(app, direct=False)
    writes.record(output, b"ord-9", b"{}", 1)
    writes.record(output, b"ord-10", b"{}", None)  # the partitioner's choice
    await delivered(writes)
    assert sorted(r.key for r in await read_topic(kafka_bootstrap, output)) == [b"ord-10", b"ord-9"]


@pytest.mark.unit
def test_an_unstarted_producer_is_a_seam_error(tmp_path: Path) -> None:
    app = _app(Settings(topic_prefix="p"), tmp_path)
    with pytest.raises(seam.SeamBrokenError, match="_producer"):
        seam.BatchWrites(app).record("t", b"k", b"v", 0)


class _Restored:
    """A changelog record as Faust's recovery hands it to `Store.apply_changelog_batch`."""

    def __init__(self, record: Any) -> None:
        self.message = record
        record.tp = TopicPartition(record.topic, record.partition)


@pytest.mark.kafka
async def test_a_restore_from_the_changelog_the_direct_writes_made_gives_back_every_state(
        started: tuple[faust.App, faust.Table, str], kafka_bootstrap: str,
        make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    """What a worker on an empty disk does with the changelog (Faust's recovery applies it batch by
    batch with `apply_changelog_batch`): the states come back, byte for byte, in their partitions."""
    app, table, _ = started
    writes = seam.BatchWrites(app)
    states = {("ord-1", 0): b'{"s":1}', ("ord-2", 1): b'{"s":2}', ("ñandú-✓", 1): b'{"s":3}'}
    for (key, partition), value in states.items():
        writes.put(table, key, value, _Event(partition))
    await delivered(writes)
    changelog = await read_topic(kafka_bootstrap, table.changelog_topic.get_topic_name())

    fresh = _app(make_settings(), tmp_path / "empty-disk")
    restored = fresh.Table("orders", default=None, partitions=2, key_type=str, value_type=bytes)
    restored.data.apply_changelog_batch([_Restored(r) for r in changelog], to_key=lambda k: k, to_value=lambda v: v)
    for (key, partition), value in states.items():
        with seam.as_current(seam.AtPartition(partition)):
            assert restored.get(key) == value
    for partition in (0, 1):
        tp = TopicPartition(table.changelog_topic.get_topic_name(), partition)
        assert restored.data.persisted_offset(tp) == table.data.persisted_offset(tp)
