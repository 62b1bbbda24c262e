"""Everything the console needs from Faust beyond its public API, in one place.

- a key is read from *one* partition's store (the owner's, active), never by Faust's search of
  every open store (which includes standby copies): a stand-in current event names the partition;
- a partition's rows are iterated from its own RocksDB store (index rebuild after assignment);
- the worker's active partitions come from the assignor (streams/api/faust_view.py).
tests/streams/console/test_seam.py fails loudly when an upgrade changes any of these.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from faust.streams import _current_event

from streams.api.faust_view import active_partitions  # noqa: F401 - the console's name for it


class _Message:
    __slots__ = ("partition",)

    def __init__(self, partition: int) -> None:
        self.partition = partition


class _AtPartition:
    """What RocksDB's `Store._get` reads of the current event: `.message.partition`."""

    __slots__ = ("message", "__weakref__")

    def __init__(self, partition: int) -> None:
        self.message = _Message(partition)


def read_in_partition(table: Any, partition: int, key: str) -> bytes | None:
    """`table[key]` from that partition's store only (RocksDB); other stores hold one dict."""
    stand_in = _AtPartition(partition)
    token = _current_event.set(weakref.ref(stand_in))  # type: ignore[arg-type]
    try:
        return table.get(key)
    finally:
        _current_event.reset(token)


def partition_items(table: Any, partition: int) -> Iterator[tuple[str, bytes]]:
    """Every (key, value) of one partition, from its own RocksDB store (read through one
    iterator, so a snapshot). Other stores keep no per-partition data: NotImplementedError."""
    store = table.data
    db_for = getattr(store, "_db_for_partition", None)
    if db_for is None:
        raise NotImplementedError(f"{type(store).__name__} keeps no per-partition stores")
    for raw_key, raw_value in store._visible_items(db_for(partition)):  # noqa: SLF001
        yield store._decode_key(raw_key), store._decode_value(raw_value)  # noqa: SLF001
