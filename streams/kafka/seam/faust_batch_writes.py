"""A fold batch's table writes and output records, handed to RocksDB and to aiokafka directly.

Faust writes a table key as a RocksDB put plus a changelog record that goes through its
`ProducerBuffer` and `Topic.publish_message` (codecs, a FutureMessage, callbacks): ~85 µs of CPU
per record on a 2-core Xeon (bench/worker_stages.py), and each `Producer.send` ~25 µs more. Here
every record of a batch is appended to one aiokafka `BatchBuilder` per topic partition (a few µs
a record) and each builder is handed to the producer closed, so it leaves at once instead of
lingering. What Faust's changelog callback does on the broker's ack, remember the store's
persisted offset (where a restart resumes restoring), is done once per record batch with its
last offset.

The bytes are Faust's own: the RocksDB key and the changelog key are the JSON-encoded table key
(`changelog_key`), the value the raw state bytes (`value_type=bytes`); tests/streams/kafka/
test_seam_faust_batch_writes.py checks both against Faust's own write, and a restore from the
changelog on the real broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, NamedTuple

from rocksdict import WriteBatch

from streams.kafka.seam.faust_tables import as_current, changelog_key
from streams.kafka.seam.faust_transport import flush_changelog_writes, send_unbuffered
from floor.seam.pins import SeamBrokenError, relies_on

#: A record batch's size limit: 4 partitions of a 500-event batch fit in one each (a state is
#: ~0.5-2 KB), and it stays under the broker's default max.message.bytes (1 MiB).
BATCH_BYTES = 512 * 1024


class _Segment(NamedTuple):
    """One record batch being filled: where it goes, and the store whose offset its ack moves."""

    topic: str
    partition: int
    builder: Any
    store: Any  # the RocksDB store of a changelog segment, else None


@relies_on(("faust.stores.rocksdb:Store._set", "4227e561e288d941"),
           ("faust.stores.rocksdb:Store._db_for_partition", "cb7e67d5f9efc4bc"),
           ("faust.stores.rocksdb:Store.apply_changelog_batch", "ea3344d369fc4ab5"),
           ("faust.tables.table:Table.on_key_set", "a370e35ca55c2c7e"),
           ("faust.tables.base:Collection._on_changelog_sent", "60122c86a120d82c"),
           ("faust.transport.drivers.aiokafka:Producer.on_start", "219c9a7a785d77b2"),
           ("aiokafka.producer.message_accumulator:MessageBatch.remaining_linger", "6f296891237ba250"),
           ("aiokafka.producer.message_accumulator:MessageBatch.done", "2d765e5c2dc8638d"))
class BatchWrites:
    """Collects one batch's writes; `hand_over` gives them to the producer, changelogs first.

    `direct=False` (stock Faust: the levers are off), or a store other than RocksDB through
    rocksdict (`memory://`), writes through Faust's table and producer as before.
    Relies on aiokafka sending a closed batch without lingering (`MessageBatch.remaining_linger`)
    and acking a batch with its base offset (`MessageBatch.done`)."""

    def __init__(self, app: Any, direct: bool = True) -> None:
        self.app, self.direct = app, direct
        self._open: dict[tuple[str, int], _Segment] = {}
        self._segments: list[_Segment] = []
        self._unbatched: list[tuple[str, bytes, bytes, int | None]] = []
        self._db_writes: dict[tuple[int, int], tuple[Any, WriteBatch]] = {}
        self._faust_writes = False

    def put(self, table: Any, key: str, value: bytes, event: Any) -> None:
        """`table[key] = value` in the partition of `event`'s message (Faust's `Store._set`, whose
        changelog record `Table.on_key_set` would queue: the same bytes, batched here)."""
        store = table.data
        if not self.direct or not getattr(store, "use_rocksdict", False):  # memory://, or python-rocksdb
            with as_current(event):
                table[key] = value
            self._faust_writes = True
            return
        partition = event.message.partition
        raw_key = changelog_key(key)
        store._key_index[raw_key] = partition  # noqa: SLF001 - what Store._set keeps for reads without an event
        self._db_batch(store, partition).put(raw_key, value)
        self._append(table.changelog_topic.get_topic_name(), partition, raw_key, value, store)

    def _db_batch(self, store: Any, partition: int) -> Any:
        """The RocksDB write batch of that store's partition: one write per partition per batch
        (a put each was a WAL write each), as Faust's own `apply_changelog_batch` restores."""
        entry = self._db_writes.get((id(store), partition))
        if entry is None:
            db = store._db_for_partition(partition)  # noqa: SLF001 - Store._set's database
            entry = self._db_writes[(id(store), partition)] = (db, WriteBatch(raw_mode=True))
        return entry[1]

    def record(self, topic: str, key: bytes, value: bytes, partition: int | None) -> None:
        """A record to publish; one without a partition goes through the producer's partitioner."""
        if not self.direct or partition is None:
            self._unbatched.append((topic, key, value, partition))
        else:
            self._append(topic, partition, key, value, None)

    def _append(self, topic: str, partition: int, key: bytes, value: bytes, store: Any) -> None:
        segment = self._open.get((topic, partition))
        if segment is None or segment.builder.append(timestamp=None, key=key, value=value) is None:
            builder = self._producer().create_batch()
            if builder.append(timestamp=None, key=key, value=value) is None:
                raise SeamBrokenError("aiokafka's BatchBuilder refused the first record of an empty batch")
            segment = self._open[(topic, partition)] = _Segment(topic, partition, builder, store)
            self._segments.append(segment)

    def _producer(self) -> Any:
        producer = getattr(self.app.producer, "_producer", None)
        if producer is None:
            raise SeamBrokenError("faust's aiokafka Producer has no started _producer "
                                  "(streams/kafka/seam: BatchWrites)")
        return producer

    async def hand_over(self) -> list[Awaitable[Any]]:
        """Hand every write to the producer, the changelog records before the records published
        from them (so a published state is never newer than what a restarted worker restores);
        the futures of the broker's acks. A record batch's ack sets its store's persisted offset."""
        for db, batch in self._db_writes.values():  # the state first, then its changelog
            db.write(batch)
        self._db_writes.clear()
        if self._faust_writes:
            await flush_changelog_writes(self.app)
        acks: list[Awaitable[Any]] = []
        if self._segments:
            producer = self._producer()
            for segment in self._segments:
                segment.builder.close()  # a closed batch is sent at once, not after the linger
                ack = await producer.send_batch(segment.builder, segment.topic, partition=segment.partition)
                if segment.store is not None:
                    ack.add_done_callback(_persist_offset(segment.store, segment.builder.record_count()))
                acks.append(ack)
        acks.extend([await send_unbuffered(self.app, *record) for record in self._unbatched])
        self._open.clear()
        self._segments.clear()
        self._unbatched.clear()
        return acks


def _persist_offset(store: Any, count: int) -> Any:
    """The ack callback: the store's persisted offset is its changelog's last acked offset."""

    def persist(ack: asyncio.Future) -> None:
        if ack.cancelled() or ack.exception() is not None:
            return  # the gathered ack raises, and the worker stops before committing the batch
        metadata = ack.result()
        store.set_persisted_offset(metadata.topic_partition, metadata.offset + count - 1)

    return persist
