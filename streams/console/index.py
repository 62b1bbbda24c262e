"""Orders by state, sorted by last update: what `/console/orders?state=S&older_than=D` reads.

Pure (no Faust): the worker's shell (streams/console/indexer.py) feeds it each folded batch and
rebuilds a partition's part from the local table after an assignment. A query is a bisection in
the state's sorted list plus a walk over one page: O(log n + offset/B + limit), not a scan of
every order (bench: `python -m bench console-index`).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import NamedTuple

BUCKET = 1000  # entries per bucket of a SortedBuckets: inserts move at most ~2*BUCKET pointers


class Entry(NamedTuple):
    """Sort key first: updatedAt in ms, then the order id (unique, so entries never tie)."""

    updated_ms: int
    order_id: str
    state: str
    partition: int


class SortedBuckets:
    """A sorted list kept as short buckets (the idea of `sortedcontainers.SortedList`), so an
    insert or removal at 1M entries moves ~1000 pointers instead of ~1M."""

    def __init__(self) -> None:
        self._buckets: list[list[Entry]] = []
        self._maxes: list[Entry] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def add(self, entry: Entry) -> None:
        self._len += 1
        if not self._buckets:
            self._buckets.append([entry])
            self._maxes.append(entry)
            return
        i = min(bisect_left(self._maxes, entry), len(self._buckets) - 1)
        bucket = self._buckets[i]
        insort(bucket, entry)
        self._maxes[i] = bucket[-1]
        if len(bucket) > 2 * BUCKET:
            self._buckets[i:i + 1] = [bucket[:BUCKET], bucket[BUCKET:]]
            self._maxes[i:i + 1] = [bucket[BUCKET - 1], bucket[-1]]

    def remove(self, entry: Entry) -> None:
        i = bisect_left(self._maxes, entry)
        bucket = self._buckets[i] if i < len(self._buckets) else []
        j = bisect_left(bucket, entry)
        if j == len(bucket) or bucket[j] != entry:
            raise KeyError(entry)
        del bucket[j]
        self._len -= 1
        if bucket:
            self._maxes[i] = bucket[-1]
        else:
            del self._buckets[i], self._maxes[i]

    def count_below(self, bound: Entry) -> int:
        """How many entries sort before `bound`."""
        i = bisect_left(self._maxes, bound)
        before = sum(len(b) for b in self._buckets[:i])
        return before + (bisect_left(self._buckets[i], bound) if i < len(self._buckets) else 0)

    def descending_from(self, position: int) -> Iterator[Entry]:
        """Entries at positions position-1, position-2, ..., 0: newest first below a bound."""
        i, j = 0, position
        while i < len(self._buckets) and j > len(self._buckets[i]):
            j -= len(self._buckets[i])
            i += 1
        if i == len(self._buckets):
            i, j = i - 1, len(self._buckets[-1]) if self._buckets else 0
        while i >= 0:
            bucket = self._buckets[i]
            for k in range(j - 1, -1, -1):
                yield bucket[k]
            i -= 1
            j = len(self._buckets[i]) if i >= 0 else 0


class Page(NamedTuple):
    total: int  # every order of the state below the bound (whatever the offset or cursor)
    entries: list[Entry]
    more: bool = False  # rows beyond `entries` below the bound (and the cursor)


class OrderIndex:
    """order id -> its entry, and per state the entries sorted by (updatedAt, order id)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Entry] = {}
        self._by_state: dict[str, SortedBuckets] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, order_id: str) -> bool:
        return order_id in self._by_id

    def put(self, order_id: str, state: str, updated_ms: int, partition: int) -> None:
        """The order's latest state (what the fold just wrote): replaces what was indexed."""
        old = self._by_id.get(order_id)
        entry = Entry(updated_ms, order_id, state, partition)
        if old == entry:
            return
        if old is not None:
            self._by_state[old.state].remove(old)
        self._by_id[order_id] = entry
        self._by_state.setdefault(state, SortedBuckets()).add(entry)

    def put_if_absent(self, order_id: str, state: str, updated_ms: int, partition: int) -> None:
        """What a rebuild scan read: never overrides a newer write the fold indexed meanwhile."""
        if order_id not in self._by_id:
            self.put(order_id, state, updated_ms, partition)

    def drop_partitions(self, partitions: Iterable[int]) -> int:
        """Forget every order of these partitions (revoked: another worker owns them now)."""
        gone = set(partitions)
        doomed = [e for e in self._by_id.values() if e.partition in gone]
        for entry in doomed:
            del self._by_id[entry.order_id]
            self._by_state[entry.state].remove(entry)
        return len(doomed)

    def counts(self) -> dict[str, int]:
        return {state: len(entries) for state, entries in self._by_state.items() if len(entries)}

    def partitions(self) -> Counter[int]:
        return Counter(e.partition for e in self._by_id.values())

    def older_than(self, state: str, before_ms: int, offset: int = 0, limit: int = 50,
                   after: tuple[int, str] | None = None) -> Page:
        """Orders in `state` last updated before `before_ms`, newest first, one page: from
        `offset`, or the rows strictly older than the cursor `after` = (updatedAt ms, order id)
        of the previous page's last row (stable while rows are added above it)."""
        entries = self._by_state.get(state)
        if entries is None:
            return Page(0, [])
        total = entries.count_below(Entry(before_ms, "", "", -1))
        start = total if after is None else min(total, entries.count_below(Entry(after[0], after[1], "", -1)))
        start -= offset
        if start <= 0:
            return Page(total, [])
        walk = entries.descending_from(start)
        found = [e for _, e in zip(range(limit), walk, strict=False)]
        return Page(total, found, start > len(found))
