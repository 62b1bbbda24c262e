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
from typing import Any, NamedTuple

from rocksdict import WriteBatch

from streams.kafka.seam.faust_tables import as_current, changelog_key
from streams.kafka.seam.faust_transport import flush_changelog_writes, send_unbuffered
from floor.seam.pins import SeamBrokenError, relies_on
from schemas.errors import HooklogError

#: A record batch's size limit: 4 partitions of a 500-event batch fit in one each (a state is
#: ~0.5-2 KB), and it stays under the broker's default max.message.bytes (1 MiB).
BATCH_BYTES = 512 * 1024


class StoreWriteError(HooklogError):
    """RocksDB refused a table write (a full disk, a file-size limit, an I/O error). After that
    RocksDB takes no more writes until the store is reopened, so no retry in this process can
    land: the worker stops and, restarted, folds the batch again."""

    @classmethod
    def of(cls, where: str, cause: BaseException) -> StoreWriteError:
        return cls(f"RocksDB refused a write to {where}: {cause}. The store takes no writes until it is "
                   "reopened; free disk space (or lift the file-size limit) under HOOKLOG_DATA_DIR and "
                   "let the worker restart.")


class _Segment(NamedTuple):
    """One record batch being filled: where it goes, and the store whose offset its ack moves."""

    topic: str
    partition: int
    builder: Any
    store: Any  # the RocksDB store of a changelog segment, else None


#: A record to send: (topic, partition, key, value, the store whose changelog it is, or None).
_Record = tuple[str, int, bytes, bytes, Any]


@relies_on(("faust.stores.rocksdb:Store._set", "4227e561e288d941"),
           ("faust.stores.rocksdb:Store._db_for_partition", "cb7e67d5f9efc4bc"),
           ("faust.stores.rocksdb:Store.apply_changelog_batch", "ea3344d369fc4ab5"),
           ("faust.tables.table:Table.on_key_set", "a370e35ca55c2c7e"),
           ("faust.tables.base:Collection._on_changelog_sent", "60122c86a120d82c"),
           ("faust.transport.drivers.aiokafka:Producer.on_start", "219c9a7a785d77b2"),
           ("aiokafka.producer.message_accumulator:MessageBatch.remaining_linger", "6f296891237ba250"),
           ("aiokafka.producer.message_accumulator:MessageBatch.done", "2d765e5c2dc8638d"))
class BatchWrites:
    """Collects one batch's writes; `deliver` writes and sends them, changelogs first, and
    returns only once the broker acknowledged every record (raising if any write or send
    failed). It can be called again after a failure: it writes and sends everything again
    (the same keys and values: idempotent in RocksDB and on compacted topics).

    `direct=False` (stock Faust: the fast paths are off), or a store other than RocksDB through
    rocksdict (`memory://`), writes through Faust's table and producer as before; there a
    changelog record's failure is Faust's own callback's to log, not raised here.
    Relies on aiokafka sending a closed batch without lingering (`MessageBatch.remaining_linger`)
    and acking a batch with its base offset (`MessageBatch.done`)."""

    def __init__(self, app: Any, direct: bool = True) -> None:
        self.app, self.direct = app, direct
        self._db_puts: dict[tuple[int, int], tuple[Any, int, list[tuple[bytes, bytes]]]] = {}
        self._changelog: list[_Record] = []
        self._published: list[_Record] = []
        self._unbatched: list[tuple[str, bytes, bytes, int | None]] = []
        self._faust_puts: list[tuple[Any, str, bytes, Any]] = []

    def put(self, table: Any, key: str, value: bytes, event: Any) -> None:
        """`table[key] = value` in the partition of `event`'s message (Faust's `Store._set`, whose
        changelog record `Table.on_key_set` would queue: the same bytes, batched here)."""
        store = table.data
        if not self.direct or not getattr(store, "use_rocksdict", False):  # memory://, or python-rocksdb
            self._faust_puts.append((table, key, value, event))
            return
        partition = event.message.partition
        raw_key = changelog_key(key)
        store._key_index[raw_key] = partition  # noqa: SLF001 - what Store._set keeps for reads without an event
        entry = self._db_puts.get((id(store), partition))
        if entry is None:
            entry = self._db_puts[(id(store), partition)] = (store, partition, [])
        entry[2].append((raw_key, value))
        self._changelog.append((table.changelog_topic.get_topic_name(), partition, raw_key, value, store))

    def record(self, topic: str, key: bytes, value: bytes, partition: int | None) -> None:
        """A record to publish; one without a partition goes through the producer's partitioner."""
        if not self.direct or partition is None:
            self._unbatched.append((topic, key, value, partition))
        else:
            self._producer()  # a seam error now, not at the end of the batch
            self._published.append((topic, partition, key, value, None))

    def _producer(self) -> Any:
        producer = getattr(self.app.producer, "_producer", None)
        if producer is None:
            raise SeamBrokenError("faust's aiokafka Producer has no started _producer "
                                  "(streams/kafka/seam: BatchWrites)")
        return producer

    async def deliver(self) -> list[Any]:
        """Write the state, then publish what was folded from it: RocksDB (one write batch per
        store partition, as Faust's own `apply_changelog_batch` restores), the changelog records,
        and only once the broker acked all of those (a published state is never newer than what
        a restart or a takeover restores, whichever brokers lead the partitions) the published
        records. The broker's record metadata, changelogs first; raises what failed."""
        for store, partition, puts in self._db_puts.values():
            batch = WriteBatch(raw_mode=True)
            for raw_key, value in puts:
                batch.put(raw_key, value)
            db = store._db_for_partition(partition)  # noqa: SLF001 - Store._set's database
            try:
                db.write(batch)
            except Exception as exc:  # rocksdict raises a bare Exception("IO error: …")
                raise StoreWriteError.of(f"{db.path()} (partition {partition})", exc) from exc
        if self._faust_puts:
            for table, key, value, event in self._faust_puts:
                with as_current(event):
                    try:
                        table[key] = value
                    except Exception as exc:  # Faust's Store._set: rocksdict's bare Exception
                        raise StoreWriteError.of(f"table {table.name} (partition {event.message.partition})",
                                                 exc) from exc
            await flush_changelog_writes(self.app)
            await self.app.producer.flush()
        acked = await self._send(self._changelog)
        acked += await self._send(self._published)
        if self._unbatched:
            acked += await asyncio.gather(*[await send_unbuffered(self.app, *r) for r in self._unbatched])
        return acked

    async def _send(self, records: list[_Record]) -> list[Any]:
        """`records` as one closed aiokafka record batch per topic partition (a closed batch is
        sent at once, not after the linger); a changelog batch's ack sets its store's persisted
        offset to its last offset. Returns once every batch is acked."""
        if not records:
            return []
        producer = self._producer()
        segments: list[_Segment] = []
        open_: dict[tuple[str, int], _Segment] = {}
        for topic, partition, key, value, store in records:
            segment = open_.get((topic, partition))
            if segment is None or segment.builder.append(timestamp=None, key=key, value=value) is None:
                builder = producer.create_batch()
                if builder.append(timestamp=None, key=key, value=value) is None:
                    raise SeamBrokenError("aiokafka's BatchBuilder refused the first record of an empty batch")
                segment = open_[(topic, partition)] = _Segment(topic, partition, builder, store)
                segments.append(segment)
        acks = []
        for segment in segments:
            segment.builder.close()
            acks.append(await producer.send_batch(segment.builder, segment.topic, partition=segment.partition))
        metadata = await asyncio.gather(*acks)
        for segment, meta in zip(segments, metadata, strict=True):
            if segment.store is not None:  # what Faust's `_on_changelog_sent` keeps, per batch
                segment.store.set_persisted_offset(meta.topic_partition, meta.offset + segment.builder.record_count() - 1)
        return list(metadata)
