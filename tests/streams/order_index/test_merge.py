"""Merging each worker's part of the stuck-orders list and the counts (streams/order_index/merge.py),
against one index of every order (what a single worker holding every partition would answer)."""

from __future__ import annotations

import random

import pytest

from streams.order_index.index import Entry, OrderIndex
from streams.order_index.merge import (Counts, Cursor, Failed, Gap, Merged, Part, counts_from_json, counts_json,
                                   format_cursor, merge_counts, merge_pages, parse_cursor, part_from_json, part_json,
                                   plan, worker_rows)

pytestmark = pytest.mark.unit
PARTITIONS = 6
OWNERS = {0: "http://a", 1: "http://b", 2: "http://a", 3: "http://c", 4: "http://b", 5: "http://c"}


def orders(rng: random.Random, n: int) -> list[tuple[str, str, int, int]]:
    """(order id, state, updatedAt ms, partition); many updatedAt ties, so the id breaks them."""
    return [(f"o{i:04d}", rng.choice("PW"), rng.randrange(200), rng.randrange(PARTITIONS)) for i in range(n)]


def indexes(rows: list[tuple[str, str, int, int]]) -> tuple[OrderIndex, dict[str, OrderIndex]]:
    whole, per_worker = OrderIndex(), {url: OrderIndex() for url in plan(OWNERS)}
    for order_id, state, ms, partition in rows:
        whole.put(order_id, state, ms, partition)
        per_worker[OWNERS[partition]].put(order_id, state, ms, partition)
    return whole, per_worker


def parts(per_worker: dict[str, OrderIndex], state: str, before: int, after: Cursor | None, limit: int) -> list[Part]:
    out = []
    for url, partitions in plan(OWNERS).items():
        page = per_worker[url].older_than(state, before, limit=limit, after=after)
        out.append(Part(url, partitions, page.total, page.entries, page.more))
    return out


def key(entries: list[Entry]) -> list[tuple[int, str]]:
    return [(e.updated_ms, e.order_id) for e in entries]


@pytest.mark.parametrize("limit", [1, 7, 50, 500])
def test_paging_through_three_workers_gives_every_order_once_in_the_order_of_one_index(limit: int) -> None:
    whole, per_worker = indexes(orders(random.Random(limit), 400))
    for state, before in (("P", 150), ("W", 10_000), ("P", 0)):
        want = whole.older_than(state, before, limit=10_000)
        walked, cursor, pages = [], None, 0
        while True:
            merged = merge_pages(parts(per_worker, state, before, cursor, limit), PARTITIONS, limit)
            assert isinstance(merged, Merged) and merged.total == want.total and merged.workers == 3
            assert len(merged.entries) <= limit
            assert key(merged.entries) == key(whole.older_than(state, before, limit=limit, after=cursor).entries)
            walked += merged.entries
            pages += 1
            if merged.next is None:
                break
            cursor = parse_cursor(format_cursor(merged.next))  # through the URL and back
        assert key(walked) == key(want.entries)
        assert pages == max(1, -(-want.total // limit))  # no empty page at the end


def test_a_worker_that_failed_makes_the_whole_page_unavailable_not_shorter() -> None:
    _, per_worker = indexes(orders(random.Random(1), 100))
    answers: list[Part | Failed] = list(parts(per_worker, "P", 10_000, None, 50))
    answers[1] = Failed("http://b", "is unreachable (it may have stopped)", 1)
    got = merge_pages(answers, PARTITIONS, 50)
    assert got == Gap("worker http://b is unreachable (it may have stopped)", 1)
    building = Failed("http://c", "is building its order index for partitions [3]", 3)
    assert merge_counts([Counts("http://a", frozenset({0, 2}), {"P": 1}), building], PARTITIONS).retry_after_s == 3


def test_a_partition_nobody_covered_or_covered_twice_is_unavailable() -> None:
    _, per_worker = indexes(orders(random.Random(2), 100))
    answers = parts(per_worker, "P", 10_000, None, 50)
    without_c = [a for a in answers if a.worker != "http://c"]  # c's partitions moved, nobody has them yet
    got = merge_pages(without_c, PARTITIONS, 50)
    assert isinstance(got, Gap) and "[3, 5]" in got.reason and "not covered" in got.reason
    moved = answers[:2] + [answers[2]._replace(partitions=frozenset({3, 5, 0}))]  # 0 reached c before a let go
    got = merge_pages(moved, PARTITIONS, 50)
    assert isinstance(got, Gap) and "[0]" in got.reason and "two workers" in got.reason
    assert isinstance(merge_counts([Counts("http://a", frozenset(range(5)), {})], PARTITIONS), Gap)


def test_counts_are_the_sum_over_every_partition() -> None:
    rows = orders(random.Random(3), 300)
    whole, per_worker = indexes(rows)
    answers = [Counts(url, ps, per_worker[url].counts()) for url, ps in plan(OWNERS).items()]
    assert merge_counts(answers, PARTITIONS) == whole.counts()


def test_the_wire_format_round_trips_and_the_cursor_refuses_junk() -> None:
    _, per_worker = indexes(orders(random.Random(4), 50))
    for part in parts(per_worker, "W", 10_000, None, 5):
        assert part_from_json(part_json(part), "W") == part
    counts = Counts("http://a", frozenset({0, 2}), {"P": 3})
    assert counts_from_json(counts_json(counts)) == counts
    assert parse_cursor(format_cursor(Cursor(12, "ord:with:colons"))) == Cursor(12, "ord:with:colons")
    assert parse_cursor("") is None
    for junk in ("12", "x:ord", ":ord", "12:"):
        with pytest.raises(ValueError, match="cursor"):
            parse_cursor(junk)


def test_every_worker_of_the_assignment_has_a_row_with_what_it_said() -> None:
    answers = [Counts("http://a", frozenset({0, 2}), {}), Failed("http://b", "answered 503: is rebalancing")]
    rows = worker_rows(OWNERS, answers, "http://a", "ready")
    assert [(r.url, r.partitions, r.this, r.status) for r in rows] == [
        ("http://a", [0, 2], True, "ready"), ("http://b", [1, 4], False, "answered 503: is rebalancing"),
        ("http://c", [3, 5], False, "not asked")]
    assert worker_rows({}, [], "http://a", "starting")[0].status == "starting"  # owns nothing: still listed
