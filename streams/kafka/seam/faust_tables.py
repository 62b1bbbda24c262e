"""faust-streaming's tables: recovery, the current event RocksDB reads, per-partition store
reads, the assignor's active partitions, and the keys of changelogs (their names, Faust's rule:
floor/kafka/names.py)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from faust.streams import _current_event
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery

from floor.seam.pins import relies_on


class _ResumeAfterSeek:
    """While installed on a consumer, `resume_partitions` only collects the partitions, and
    `perform_seek` seeks, then resumes them. Instance attributes shadow the class's methods for
    the duration of one recovery step (both run in the single recovery task)."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.resume, self.seek = consumer.resume_partitions, consumer.perform_seek
        self.deferred: list[Any] = []

    async def seek_then_resume(self) -> None:
        await self.seek()
        self.flush()

    def flush(self) -> None:
        while self.deferred:
            self.resume(self.deferred.pop())

    def __enter__(self) -> _ResumeAfterSeek:
        self.consumer.resume_partitions, self.consumer.perform_seek = self.deferred.append, self.seek_then_resume
        return self

    def __exit__(self, *exc: object) -> None:
        vars(self.consumer).pop("resume_partitions", None)
        vars(self.consumer).pop("perform_seek", None)
        self.flush()  # no seek happened (empty assignment): resume as Faust would have


@relies_on(("faust.tables.recovery:Recovery.on_recovery_completed", "6ef567acf072e46d"),
           ("faust.tables.recovery:Recovery._resume_streams", "d986a6710c1aca98"))
class SeekBeforeResumeRecovery(Recovery):
    """faust-streaming 0.15.3 resumes the raw partitions *before* seeking them to their committed
    offsets when recovery ends (`on_recovery_completed`, `_resume_streams`). Records fetched in
    between race the seek: Faust books the offsets it jumped over as a committable gap and drops
    their re-fetched records, so events were never folded (seen under kill -9 restarts,
    tests/e2e/test_kill9.py). Here the resume waits until the seek is done (faust-streaming#217
    made the same reorder in one other place). Relies on both methods calling
    `consumer.resume_partitions(...)` then `consumer.perform_seek()` by attribute lookup."""

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        with _ResumeAfterSeek(self.app.consumer):
            await super().on_recovery_completed(generation_id)

    async def _resume_streams(self, generation_id: int = 0) -> None:
        with _ResumeAfterSeek(self.app.consumer):
            await super()._resume_streams(generation_id)


@relies_on(("faust.tables.manager:TableManager.recovery", "f0bf5de78b4c3d23"))
class SeekBeforeResumeTableManager(TableManager):
    """Faust's `TableManager` setting is the one public way to choose the Recovery class: this
    copies `TableManager.recovery` (build once, keep in `_recovery`) with `recovery_class`, our
    subclass (a subclass of this manager may name a subclass of it)."""

    recovery_class: type[SeekBeforeResumeRecovery] = SeekBeforeResumeRecovery

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = self.recovery_class(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


@relies_on(("faust.streams:current_event", "3b821f1a78d86a58"),
           ("faust.stores.rocksdb:Store._get", "7ae8dfd6d7754a59"),
           ("faust.stores.rocksdb:Store._set", "4227e561e288d941"))
@contextmanager
def as_current(event: Any) -> Iterator[None]:
    """Make `event` Faust's current event (the `_current_event` context variable holds a weak
    reference): a RocksDB table reads and writes the partition of the current event's message
    (`Store._get`, `Store._set`), and in a `take_events` batch the agent's context holds no
    event, or a stale one from another partition (whose store lacks the key)."""
    token = _current_event.set(weakref.ref(event) if event is not None else None)
    try:
        yield
    finally:
        _current_event.reset(token)


class _Message:
    __slots__ = ("partition",)

    def __init__(self, partition: int) -> None:
        self.partition = partition


class AtPartition:
    """A stand-in current event: what RocksDB's `Store._get` reads of it, `.message.partition`."""

    __slots__ = ("message", "__weakref__")

    def __init__(self, partition: int) -> None:
        self.message = _Message(partition)


@relies_on(("faust.stores.rocksdb:Store._get", "7ae8dfd6d7754a59"),
           ("faust.stores.rocksdb:Store._db_for_partition", "cb7e67d5f9efc4bc"))
def read_in_partition(table: Any, partition: int, key: str) -> bytes | None:
    """`table[key]` from that partition's store only (RocksDB), never Faust's search of every
    open store (standbys included); other stores hold one dict.

    RocksDB: the partition's database is read directly, with the key Faust writes
    (`changelog_key`), which is what `Store._get` does for the current event's partition without
    Faust's mapping layers on the way (~7 % of the worker's CPU when the fold read through them)."""
    db_for = getattr(table.data, "_db_for_partition", None)
    if db_for is not None:
        return db_for(partition).get(changelog_key(key))
    with as_current(AtPartition(partition)):
        return table.get(key)


@relies_on(("faust.stores.rocksdb:Store._db_for_partition", "cb7e67d5f9efc4bc"),
           ("faust.stores.rocksdb:Store._visible_items", "545dc16a2b25e4a4"),
           ("faust.stores.base:Store._decode_key", "fcb649a35b6e5f45"),
           ("faust.stores.base:Store._decode_value", "5fe35164ec2e2032"))
def partition_items(table: Any, partition: int) -> Iterator[tuple[str, bytes]]:
    """Every (key, value) of one partition, from its own RocksDB store (read through one
    iterator, so a snapshot). Other stores keep no per-partition data: NotImplementedError."""
    store = table.data
    db_for = getattr(store, "_db_for_partition", None)
    if db_for is None:
        raise NotImplementedError(f"{type(store).__name__} keeps no per-partition stores")
    for raw_key, raw_value in store._visible_items(db_for(partition)):  # noqa: SLF001
        yield store._decode_key(raw_key), store._decode_value(raw_value)  # noqa: SLF001


@relies_on(("faust.assignor.partition_assignor:PartitionAssignor.assigned_actives", "cd131e5935099dda"))
def active_partitions(app: Any, topic: str) -> frozenset[int]:
    """Partitions of `topic` this worker owns as active (standbys excluded), from the assignor."""
    try:
        actives = app.assignor.assigned_actives()
    except Exception:  # noqa: BLE001 - no assignment yet (starting, or between generations)
        return frozenset()
    return frozenset(tp.partition for tp in actives if tp.topic == topic)


@relies_on(("faust.serializers.codecs:json._dumps", "e4d58b9aa8933715"),
           ("faust.utils.json:dumps", "e06b01cf022717d9"))
def changelog_key(key: str) -> bytes:
    """A `str` table key as Faust writes it into the changelog: `table_key_serializer` "json",
    which is orjson's encoding when orjson is installed (and `table_route` hashes the same)."""
    return orjson.dumps(key)


def key_from_changelog(raw: bytes) -> Any:
    """The table key of a changelog record (the inverse of `changelog_key`)."""
    return orjson.loads(raw)
