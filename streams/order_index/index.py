"""Orders by state, sorted by last update: what `/console/orders?state=S&older_than=D` reads.

Pure (no Faust): the worker's shell (streams/order_index/keeper.py) feeds it each folded batch and
rebuilds a partition's part from the local table after an assignment. A query is a bisection in
the state's sorted list plus a walk over one page: O(log n + offset/B + limit), not a scan of
every order (bench: `python -m bench console-index`).

Compact, since it holds every order a worker owns (issue 12's memory target, 1M orders): per
order, the id string (shared by the dict and the sorted list), one int packing
(updatedAt, state, partition), and 16 bytes in a bucket (an int64 slot and a list pointer);
`Entry` tuples are built only for the page a query returns.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

BUCKET = 1000  # entries per bucket of a SortedBuckets: inserts move at most ~2*BUCKET pointers
_LOW_BITS = 16  # the packed int: updated_ms << 32 | state code << 16 | partition
_LOW = (1 << _LOW_BITS) - 1


class Entry(NamedTuple):
    """Sort key first: updatedAt in ms, then the order id (unique, so entries never tie)."""

    updated_ms: int
    order_id: str
    state: str
    partition: int


class SortedBuckets:
    """(updatedAt ms, order id) keys kept sorted in short buckets (the idea of
    `sortedcontainers.SortedList`), so an insert or removal at 1M entries moves ~1000 pointers
    instead of ~1M. A bucket is an int64 array of the times beside a list of the ids: no tuple
    and no int object per entry. Keys are any (ms, id, ...) sequence, e.g. an `Entry`."""

    def __init__(self) -> None:
        self._times: list[array[int]] = []
        self._ids: list[list[str]] = []
        self._maxes: list[tuple[int, str]] = []  # each bucket's last key
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def _bucket_of(self, ms: int, order_id: str) -> int:
        return bisect_left(self._maxes, (ms, order_id))

    def _position(self, i: int, ms: int, order_id: str) -> int:
        """Where (ms, order_id) sorts in bucket i: among equal times, by id."""
        times = self._times[i]
        lo = bisect_left(times, ms)
        if lo == len(times) or times[lo] != ms:  # no tie on the time (the common case)
            return lo
        return bisect_left(self._ids[i], order_id, lo, bisect_right(times, ms, lo))

    def add(self, key: Sequence[Any]) -> None:
        ms, order_id = key[0], key[1]
        self._len += 1
        if not self._times:
            self._times.append(array("q", [ms]))
            self._ids.append([order_id])
            self._maxes.append((ms, order_id))
            return
        i = min(self._bucket_of(ms, order_id), len(self._times) - 1)
        times, ids = self._times[i], self._ids[i]
        j = self._position(i, ms, order_id)
        times.insert(j, ms)
        ids.insert(j, order_id)
        self._maxes[i] = (times[-1], ids[-1])
        if len(ids) > 2 * BUCKET:
            self._times[i:i + 1] = [times[:BUCKET], times[BUCKET:]]
            self._ids[i:i + 1] = [ids[:BUCKET], ids[BUCKET:]]
            self._maxes[i:i + 1] = [(times[BUCKET - 1], ids[BUCKET - 1]), (times[-1], ids[-1])]

    def remove(self, key: Sequence[Any]) -> None:
        ms, order_id = key[0], key[1]
        i = self._bucket_of(ms, order_id)
        if i == len(self._times):
            raise KeyError((ms, order_id))
        times, ids = self._times[i], self._ids[i]
        j = self._position(i, ms, order_id)
        if j == len(ids) or times[j] != ms or ids[j] != order_id:
            raise KeyError((ms, order_id))
        del times[j], ids[j]
        self._len -= 1
        if ids:
            self._maxes[i] = (times[-1], ids[-1])
        else:
            del self._times[i], self._ids[i], self._maxes[i]

    def count_below(self, ms: int, order_id: str = "") -> int:
        """How many keys sort before (ms, order_id)."""
        i = self._bucket_of(ms, order_id)
        before = sum(len(b) for b in self._ids[:i])
        return before + (self._position(i, ms, order_id) if i < len(self._ids) else 0)

    def descending_from(self, position: int) -> Iterator[tuple[int, str]]:
        """Keys at positions position-1, position-2, ..., 0: newest first below a bound."""
        i, j = 0, position
        while i < len(self._ids) and j > len(self._ids[i]):
            j -= len(self._ids[i])
            i += 1
        if i == len(self._ids):
            i, j = i - 1, len(self._ids[-1]) if self._ids else 0
        while i >= 0:
            times, ids = self._times[i], self._ids[i]
            for k in range(j - 1, -1, -1):
                yield times[k], ids[k]
            i -= 1
            j = len(self._ids[i]) if i >= 0 else 0


class Page(NamedTuple):
    total: int  # every order of the state below the bound (whatever the offset or cursor)
    entries: list[Entry]
    more: bool = False  # rows beyond `entries` below the bound (and the cursor)


class OrderIndex:
    """order id -> its packed (updatedAt, state, partition), and per state the (updatedAt, order
    id) keys sorted."""

    def __init__(self) -> None:
        self._by_id: dict[str, int] = {}
        self._by_state: dict[str, SortedBuckets] = {}
        self._states: list[str] = []  # state code -> name (one string per state, not per order)
        self._codes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, order_id: str) -> bool:
        return order_id in self._by_id

    def _pack(self, state: str, updated_ms: int, partition: int) -> int:
        code = self._codes.get(state)
        if code is None:
            if len(self._states) > _LOW:
                raise ValueError(f"the order index holds at most {_LOW + 1} distinct states")
            code = self._codes[state] = len(self._states)
            self._states.append(state)
            self._by_state[state] = SortedBuckets()
        if not 0 <= partition <= _LOW:
            raise ValueError(f"partition {partition} is out of the order index's range 0..{_LOW}")
        return updated_ms << 2 * _LOW_BITS | code << _LOW_BITS | partition

    def _unpack(self, order_id: str, packed: int) -> Entry:
        return Entry(packed >> 2 * _LOW_BITS, order_id, self._states[packed >> _LOW_BITS & _LOW], packed & _LOW)

    def put(self, order_id: str, state: str, updated_ms: int, partition: int) -> None:
        """The order's latest state (what the fold just wrote): replaces what was indexed."""
        packed = self._pack(state, updated_ms, partition)
        old = self._by_id.pop(order_id, None)
        if old is not None:
            if old == packed:  # unchanged: keep the key object the buckets share
                self._by_id[order_id] = old
                return
            gone = self._unpack(order_id, old)
            self._by_state[gone.state].remove(gone)
        # one string object for the dict key and the bucket (a re-put brings a new equal one)
        self._by_id[order_id] = packed
        self._by_state[state].add((updated_ms, order_id))

    def put_if_absent(self, order_id: str, state: str, updated_ms: int, partition: int) -> None:
        """What a rebuild scan read: never overrides a newer write the fold indexed meanwhile."""
        if order_id not in self._by_id:
            self.put(order_id, state, updated_ms, partition)

    def drop_partitions(self, partitions: Iterable[int]) -> int:
        """Forget every order of these partitions (revoked: another worker owns them now)."""
        gone = set(partitions)
        doomed = [self._unpack(o, p) for o, p in self._by_id.items() if p & _LOW in gone]
        for entry in doomed:
            del self._by_id[entry.order_id]
            self._by_state[entry.state].remove(entry)
        return len(doomed)

    def counts(self) -> dict[str, int]:
        return {state: len(entries) for state, entries in self._by_state.items() if len(entries)}

    def partitions(self) -> Counter[int]:
        return Counter(p & _LOW for p in self._by_id.values())

    def older_than(self, state: str, before_ms: int, offset: int = 0, limit: int = 50,
                   after: tuple[int, str] | None = None) -> Page:
        """Orders in `state` last updated before `before_ms`, newest first, one page: from
        `offset`, or the rows strictly older than the cursor `after` = (updatedAt ms, order id)
        of the previous page's last row (stable while rows are added above it)."""
        entries = self._by_state.get(state)
        if entries is None:
            return Page(0, [])
        total = entries.count_below(before_ms)
        start = total if after is None else min(total, entries.count_below(after[0], after[1]))
        start -= offset
        if start <= 0:
            return Page(total, [])
        walk = entries.descending_from(start)
        found = [self._unpack(order_id, self._by_id[order_id]) for _, (_, order_id) in zip(range(limit), walk, strict=False)]
        return Page(total, found, start > len(found))
