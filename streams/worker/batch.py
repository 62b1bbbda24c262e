"""One batch of raw records folded against the worker's tables, each touched key written once.

Faust's per-key table write costs a RocksDB put and a changelog record; folding a batch through a
write-back overlay pays that once per key per batch instead of once per event (what Kafka
Streams' record cache does for a KTable). Parsed states are kept in a small LRU so a hot
aggregate is not re-validated from its JSON on every event; an entry is used only while the
table still holds exactly the bytes it was parsed from, so a restore or rebalance can never make
it stale.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

E = TypeVar("E")
#: A record to send: (topic, key, value, partition or None), as the fold loop builds it.
R = TypeVar("R", bound=tuple[Any, ...])


#: How a batch reads a stored value: (table, partition of the current record, key) -> bytes or None.
Read = Callable[[MutableMapping[str, bytes], "int | None", str], "bytes | None"]


def _read_table(table: MutableMapping[str, bytes], partition: int | None, key: str) -> bytes | None:
    return table.get(key)


class StateCache:
    """LRU of (projection, aggregate id) -> (stored bytes, parsed state)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], tuple[bytes, BaseModel]] = OrderedDict()

    def load(self, name: str, key: str, stored: bytes | None, parse: Callable[[bytes], BaseModel]) -> BaseModel | None:
        """The state `stored` holds: the cached object when it was parsed from these very bytes."""
        if stored is None:
            return None
        entry = self._entries.get((name, key))
        if entry is not None and (entry[0] is stored or entry[0] == stored):
            self._entries.move_to_end((name, key))
            return entry[1]
        state = parse(stored)
        self.keep(name, key, stored, state)
        return state

    def keep(self, name: str, key: str, stored: bytes, state: BaseModel) -> None:
        self._entries[(name, key)] = (stored, state)
        self._entries.move_to_end((name, key))
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class _Overlay(MutableMapping[str, bytes], Generic[E]):
    """One table seen through the batch: reads see the batch's own writes first."""

    def __init__(self, base: MutableMapping[str, bytes], batch: TableBatch[E]) -> None:
        self.base, self.batch = base, batch
        self.writes: dict[str, tuple[bytes, E | None]] = {}

    def __getitem__(self, key: str) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        written = self.writes.get(key)
        if written is not None:
            return written[0]
        value = self.batch.read(self.base, self.batch.partition, key)
        return default if value is None else value

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes[key] = (value, self.batch.current)

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("folds never delete state")

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError("a batch overlay is read by key only")

    def __len__(self) -> int:
        raise NotImplementedError("a batch overlay is read by key only")


class TableBatch(Generic[E]):
    """The tables one batch folds into; `flush` writes every touched key once, under the record
    (`current` when it was last written) that produced its final value. A key not written yet
    in the batch is read with `read` (default: `table.get(key)`) in `partition`."""

    def __init__(self, tables: Mapping[str, MutableMapping[str, bytes]], read: Read | None = None) -> None:
        self.current: E | None = None
        #: the partition of `current`, which `read(table, partition, key)` reads a stored value in
        self.partition: int | None = None
        self.read: Read = read or _read_table
        self.tables = {name: _Overlay(table, self) for name, table in tables.items()}

    def flush(self, write: Callable[[MutableMapping[str, bytes], str, bytes, E | None], None]) -> int:
        """Hand each final value to `write(table, key, value, record)`; the number of writes."""
        count = 0
        for overlay in self.tables.values():
            for key, (value, record) in overlay.writes.items():
                write(overlay.base, key, value, record)
                count += 1
            overlay.writes.clear()
        return count


def latest_per_key(records: Sequence[R], collapsible: Collection[str]) -> list[R]:
    """`records` with one record per (topic, key) of the `collapsible` topics: its last, at the
    position of its last occurrence; records of other topics all kept, in order.

    A projection topic is compacted and holds the latest state per key, so within one batch
    only a key's last state needs sending (what the overlay does for the changelog); alerts and
    dead letters are not states, and each is sent. Per key the order is kept, so a consumer
    still never sees a state older than one it saw."""
    seen: set[tuple[str, bytes]] = set()
    kept: list[R] = []
    for record in reversed(records):
        topic, key = record[0], record[1]
        if topic in collapsible:
            if (topic, key) in seen:
                continue
            seen.add((topic, key))
        kept.append(record)
    kept.reverse()
    return kept
