"""The orders-by-state index against a brute-force model of it."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from schemas.envelope import utcnow
from streams.order_index import index as ix
from streams.order_index.index import OrderIndex, SortedBuckets
from streams.order_index.keeper import order_entry, state_entry
from streams.worker.processing import process_record
from tests.conftest import raw_log

pytestmark = pytest.mark.unit


def expected(model: dict[str, tuple[str, int, int]], state: str, before: int) -> list[tuple[int, str]]:
    return sorted(((t, o) for o, (s, t, _) in model.items() if s == state and t < before), reverse=True)


def test_queries_match_a_linear_scan_through_puts_moves_and_partition_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ix, "BUCKET", 8)  # many bucket splits and removals at a small size
    rng = random.Random(7)
    index, model = OrderIndex(), {}
    for step in range(6000):
        order = f"o{rng.randrange(800)}"
        state, when, partition = rng.choice("ABC"), rng.randrange(500), rng.randrange(4)
        partition = model[order][2] if order in model else partition  # an order stays on its partition
        index.put(order, state, when, partition)
        model[order] = (state, when, partition)
        if step % 1500 == 1499:
            gone = rng.randrange(4)
            index.drop_partitions([gone])
            model = {o: v for o, v in model.items() if v[2] != gone}
    assert len(index) == len(model)
    for state in "ABC":
        for before in (0, 1, 250, 499, 10_000):
            want = expected(model, state, before)
            for offset, limit in ((0, 10), (3, 50), (len(want) - 2, 10), (len(want) + 5, 10)):
                page = index.older_than(state, before, max(offset, 0), limit)
                assert page.total == len(want)
                assert [(e.updated_ms, e.order_id) for e in page.entries] == want[max(offset, 0):max(offset, 0) + limit]
                assert page.more == (max(offset, 0) + limit < len(want))
            walked, cursor = [], None  # cursor paging: each page strictly older than the last row
            while True:
                page = index.older_than(state, before, limit=7, after=cursor)
                walked += [(e.updated_ms, e.order_id) for e in page.entries]
                if not page.more:
                    break
                cursor = walked[-1]
            assert walked == want
    assert index.counts() == {s: n for s in "ABC" if (n := sum(1 for v in model.values() if v[0] == s))}


def test_a_rebuild_scan_never_overrides_what_the_fold_wrote() -> None:
    index = OrderIndex()
    index.put("o1", "PENDING", 200, 0)  # the fold's newer write
    index.put_if_absent("o1", "WAITING", 100, 0)  # what a snapshot scan read earlier
    assert index.older_than("PENDING", 1000).entries[0].updated_ms == 200
    assert index.older_than("WAITING", 1000).total == 0


def test_removing_what_is_not_there_raises() -> None:
    buckets = SortedBuckets()
    buckets.add(ix.Entry(1, "a", "S", 0))
    with pytest.raises(KeyError):
        buckets.remove(ix.Entry(2, "b", "S", 0))


def test_an_entry_reads_back_what_was_put_whatever_its_time_or_partition() -> None:
    index = OrderIndex()
    index.put("old", "PENDING", -86_400_000, 65_535)  # before 1970, the highest partition
    index.put("new", "PENDING", 1_800_000_000_000, 0)
    assert index.older_than("PENDING", 2**62).entries == [ix.Entry(1_800_000_000_000, "new", "PENDING", 0),
                                                         ix.Entry(-86_400_000, "old", "PENDING", 65_535)]
    assert index.partitions() == {0: 1, 65_535: 1}
    with pytest.raises(ValueError, match="partition"):
        index.put("x", "PENDING", 1, 65_536)


def test_the_entry_of_a_folded_state_is_the_entry_of_its_published_json() -> None:
    tables: defaultdict[str, dict[str, bytes]] = defaultdict(dict)
    checked = 0
    for _, value in raw_log(seed=3, orders=12):
        outcome = process_record(value, tables, utcnow)
        if not outcome.dead and outcome.outputs[0].topic == "orders":
            assert state_entry(outcome.state) == order_entry(outcome.outputs[0].value)
            checked += 1
    assert checked > 12
