"""Restore a table's changelog partitions into RocksDB in bulk, before Faust's own recovery.

Faust's recovery (faust.tables.recovery) hands each changelog record through its consumer as an
event, one stream step per record, into `Store.apply_changelog_batch`: ~13k records/s on 2 shared
cores, ~75 µs a key, while a plain aiokafka read of the same changelog runs 15-25× faster
(issue "Reading history at the speed of the log", bench/restore.py). Here, once Faust has
worked out where each active changelog partition must be read from (`Recovery._build_offsets`)
and before it seeks and starts reading, a plain consumer (no group) reads each partition from
there to its highwater and writes each fetched batch into the partition's RocksDB as one write
batch (the very bytes `apply_changelog_batch` writes: key and value as on the changelog, a null
value deleting the key), then sets the store's persisted offset, as Faust's recovery does per
batch. Faust's recovery then starts at the highwater and has nothing left to read.

A bulk restore gives up early (Faust's recovery reads the rest, from the persisted offset) when
a rebalance restarts recovery or it ran `BUDGET_S`, so it always stays inside Faust's
`broker_request_timeout` for this step. Standby partitions are left to Faust (they catch up in
the background, and are never answered from).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from rocksdict import WriteBatch

from floor.logs import get_logger
from floor.seam.pins import SeamBrokenError, relies_on

from streams.kafka.seam.faust_tables import SeekBeforeResumeRecovery, SeekBeforeResumeTableManager

log = get_logger("worker.restore")

#: Faust's recovery is left the partitions when fewer records than this are behind in all.
MIN_RECORDS = 2_000
#: How long one bulk restore may run before it leaves the rest to Faust's recovery.
BUDGET_S = 60.0
#: Records taken from the reader at a time (all partitions): one RocksDB write batch per partition of them.
MAX_RECORDS = 50_000

#: `open_reader()`: an async context manager yielding a started, group-less aiokafka consumer.
OpenReader = Callable[[], Any]


@dataclass
class Restored:
    records: int
    partitions: int
    seconds: float
    complete: bool


@relies_on(("faust.tables.recovery:Recovery._restart_recovery", "6bd8a8558a2dffe4"),
           ("faust.tables.recovery:Recovery._build_offsets", "27eec86be06cb51f"),
           ("faust.tables.recovery:Recovery._build_highwaters", "91b4cc0d3724ae7b"),
           ("faust.stores.rocksdb:Store.apply_changelog_batch", "ea3344d369fc4ab5"),
           ("faust.stores.rocksdb:Store.set_persisted_offset", "b4c811926678346e"))
class BulkRestoringRecovery(SeekBeforeResumeRecovery):
    """Faust's Recovery (with the seek-before-resume fix) that restores active changelog
    partitions in bulk when `open_reader` is set (`install_bulk_restore`)."""

    open_reader: OpenReader | None = None
    last_restore: Restored | None = None

    async def _build_offsets(self, consumer: Any, tps: Any, destination: Any, title: str) -> None:
        await super()._build_offsets(consumer, tps, destination, title)
        if title == "active" and self.open_reader is not None and tps:
            self.last_restore = await restore_in_bulk(
                self.open_reader, self.tables._changelogs, self.active_highwaters, destination, set(tps),  # noqa: SLF001
                stop=self.signal_recovery_start.is_set)


def _behind(tps: set[Any], highwaters: Mapping[Any, int], offsets: Mapping[Any, int]) -> dict[Any, tuple[int, int]]:
    """tp -> (first offset to read, last offset to read) for the partitions behind their highwater."""
    return {tp: (offsets[tp] + 1, highwaters[tp]) for tp in tps
            if highwaters.get(tp) is not None and highwaters[tp] >= 0 and highwaters[tp] > offsets[tp]}


async def restore_in_bulk(open_reader: OpenReader, changelogs: Mapping[str, Any], highwaters: Mapping[Any, int],
                          offsets: Any, tps: set[Any], *, stop: Callable[[], bool],
                          budget_s: float = BUDGET_S, min_records: int = MIN_RECORDS) -> Restored | None:
    """Read `tps` (Faust TPs of changelog topics) from `offsets[tp] + 1` to `highwaters[tp]`
    into their tables' RocksDB stores, moving `offsets` (Faust's active offsets) and each store's
    persisted offset with every batch written. None when too little is behind to bother."""
    behind = _behind(tps, highwaters, offsets)
    if sum(hi - lo + 1 for lo, hi in behind.values()) < min_records:
        return None
    started = time.monotonic()
    by_tp = {TopicPartition(tp.topic, tp.partition): tp for tp in behind}
    records, complete, fetch_s, write_s = 0, False, 0.0, 0.0
    async with open_reader() as consumer:
        consumer.assign(list(by_tp))
        for kafka_tp, tp in by_tp.items():
            consumer.seek(kafka_tp, behind[tp][0])
        pending = set(by_tp)
        while pending:
            if stop() or time.monotonic() - started > budget_s:
                break
            fetching = time.monotonic()
            fetched = await consumer.getmany(*pending, timeout_ms=500, max_records=MAX_RECORDS)
            writing = time.monotonic()
            fetch_s += writing - fetching
            for kafka_tp, batch in fetched.items():
                tp = by_tp[kafka_tp]
                last = behind[tp][1]
                kept = batch if batch[-1].offset <= last else [r for r in batch if r.offset <= last]
                if kept:
                    records += _write(changelogs[tp.topic].data, tp, kept)
                    offsets[tp] = kept[-1].offset
                if offsets[tp] >= last:
                    pending.discard(kafka_tp)
            write_s += time.monotonic() - writing
        complete = not pending
    done = Restored(records, len(by_tp), time.monotonic() - started, complete)
    # fetch: waiting for and parsing fetched records (aiokafka); write: the RocksDB write batches
    log.info("restored_in_bulk", records=records, partitions=done.partitions, seconds=round(done.seconds, 3),
             records_per_s=round(records / done.seconds) if done.seconds else None, complete=complete,
             fetch_s=round(fetch_s, 3), write_s=round(write_s, 3))
    return done


def _write(store: Any, tp: Any, records: list[Any]) -> int:
    """One changelog batch into its partition's RocksDB, as `Store.apply_changelog_batch` writes it."""
    batch = WriteBatch(raw_mode=True)
    for record in records:
        if record.value is None:
            batch.delete(record.key)
        else:
            batch.put(record.key, record.value)
    store._db_for_partition(tp.partition).write(batch)  # noqa: SLF001 - the store's database, as Faust's
    store.set_persisted_offset(tp, records[-1].offset)
    return len(records)


class BulkRestoringTableManager(SeekBeforeResumeTableManager):
    """The table manager whose recovery is a `BulkRestoringRecovery` (Faust's `TableManager`
    setting; `SeekBeforeResumeTableManager.recovery` builds it once)."""

    recovery_class = BulkRestoringRecovery


def install_bulk_restore(app: Any, open_reader: OpenReader) -> None:
    """Make `app`'s recovery restore active changelog partitions in bulk with `open_reader`'s
    consumers; the app's TableManager must be `BulkRestoringTableManager`."""
    recovery = app.tables.recovery
    if not isinstance(recovery, BulkRestoringRecovery):
        raise SeamBrokenError(f"the app's recovery is a {type(recovery).__name__}, not BulkRestoringRecovery "
                              "(set TableManager=BulkRestoringTableManager)")
    recovery.open_reader = open_reader
