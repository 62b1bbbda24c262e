"""The stuck-orders list and the order counts of *every* partition, merged from each worker's
answer for its own active partitions. Pure: no I/O (the asking is streams/order_index/fanout.py).

An answer is right only when the workers' answers cover every partition exactly once; a worker
that failed, a partition nobody covered or one covered twice (the assignment moved between two
answers) makes a `Gap`, a 503 "not available right now, retry", never a shorter list.

Paging is by cursor: rows sort newest first by (updatedAt ms, order id), unique; a cursor is
the last row of the page before. Every worker returns its next `limit` rows strictly older than
the cursor, the merge keeps the first `limit` of their union, so a page never skips or repeats
a row whatever worker it came from.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from streams.order_index.index import Entry

#: the most orders one page of the index holds (the console's `size`, the internal views' `limit`)
MAX_PAGE_SIZE = 200


class Cursor(NamedTuple):
    updated_ms: int
    order_id: str


def format_cursor(cursor: Cursor) -> str:
    return f"{cursor.updated_ms}:{cursor.order_id}"


def parse_cursor(text: str | None) -> Cursor | None:
    """`<updatedAt ms>:<order id>` (what `format_cursor` wrote); None for no cursor."""
    if not text:
        return None
    ms, sep, order_id = text.partition(":")
    if not sep or not ms.isdigit() or not order_id:
        raise ValueError(f"after={text!r} is not a page cursor (<ms>:<order id>); start again from the first page")
    return Cursor(int(ms), order_id)


class Part(NamedTuple):
    """One worker's rows for the partitions it covered: newest first, at most `limit`."""

    worker: str
    partitions: frozenset[int]
    total: int  # its rows below the bound, whatever the cursor
    entries: list[Entry]
    more: bool  # it has rows beyond `entries`


class Counts(NamedTuple):
    """One worker's order counts by state, for the partitions it covered."""

    worker: str
    partitions: frozenset[int]
    counts: dict[str, int]


class Failed(NamedTuple):
    """A worker that gave no answer: unreachable, timed out, not ready or building its index."""

    worker: str
    reason: str
    retry_after_s: int = 2


class Gap(NamedTuple):
    """Why the whole answer is not available now (a 503 page)."""

    reason: str
    retry_after_s: int = 2


class Merged(NamedTuple):
    total: int
    entries: list[Entry]
    next: Cursor | None  # the cursor of the following page; None on the last one
    workers: int


Answer = Part | Counts | Failed


def plan(owners: Mapping[int, str]) -> dict[str, frozenset[int]]:
    """Each owner's URL and the partitions the assignment gives it, by URL."""
    by_url: dict[str, set[int]] = {}
    for partition, url in owners.items():
        by_url.setdefault(url, set()).add(partition)
    return {url: frozenset(ps) for url, ps in sorted(by_url.items())}


def gap_of(answers: Sequence[Answer], partitions: int) -> Gap | None:
    """None when every worker answered and every partition is covered exactly once."""
    failed = [a for a in answers if isinstance(a, Failed)]
    if failed:
        return Gap("; ".join(f"worker {f.worker} {f.reason}" for f in failed),
                   max(f.retry_after_s for f in failed))
    seen = Counter(p for a in answers for p in a.partitions)  # type: ignore[union-attr]
    missing = sorted(set(range(partitions)) - set(seen))
    if missing:
        return Gap(f"partitions {missing} are not covered by any worker now (rebalancing or a worker stopped)")
    twice = sorted(p for p, n in seen.items() if n > 1)
    if twice:
        return Gap(f"partitions {twice} were answered by two workers (the assignment is changing)")
    return None


def merge_pages(answers: Sequence[Answer], partitions: int, limit: int) -> Merged | Gap:
    """One page of every partition's rows, or why not now."""
    gap = gap_of(answers, partitions)
    if gap is not None:
        return gap
    parts = [a for a in answers if isinstance(a, Part)]
    rows = heapq.merge(*(p.entries for p in parts), key=lambda e: (e.updated_ms, e.order_id), reverse=True)
    taken = [e for _, e in zip(range(limit + 1), rows, strict=False)]
    more = len(taken) > limit or any(p.more for p in parts)
    page = taken[:limit]
    cursor = Cursor(page[-1].updated_ms, page[-1].order_id) if more and page else None
    return Merged(sum(p.total for p in parts), page, cursor, len(parts))


def merge_counts(answers: Sequence[Answer], partitions: int) -> dict[str, int] | Gap:
    gap = gap_of(answers, partitions)
    if gap is not None:
        return gap
    total: Counter[str] = Counter()
    for answer in answers:
        if isinstance(answer, Counts):
            total.update(answer.counts)
    return dict(total)


class WorkerRow(NamedTuple):
    """The home page's line for one worker of the assignment."""

    url: str
    partitions: list[int]
    this: bool
    status: str  # this worker: its readiness; another: "answered" or why not


def worker_rows(owners: Mapping[int, str], answers: Iterable[Answer], own_url: str, own_status: str) -> list[WorkerRow]:
    said = {a.worker: ("answered" if not isinstance(a, Failed) else a.reason) for a in answers}
    rows = [WorkerRow(url, sorted(ps), url == own_url, own_status if url == own_url else said.get(url, "not asked"))
            for url, ps in plan(owners).items()]
    if own_url not in {r.url for r in rows}:
        rows.append(WorkerRow(own_url, [], True, own_status))
    return rows


# -- the wire format of /internal/console/... (streams/order_index/internal.py) ----------------------
def part_json(part: Part) -> dict[str, Any]:
    return {"worker": part.worker, "partitions": sorted(part.partitions), "total": part.total, "more": part.more,
            "entries": [[e.updated_ms, e.order_id, e.partition] for e in part.entries]}


def part_from_json(doc: Mapping[str, Any], state: str) -> Part:
    """KeyError/TypeError/ValueError on a malformed answer."""
    entries = [Entry(int(ms), str(order_id), state, int(p)) for ms, order_id, p in doc["entries"]]
    return Part(str(doc["worker"]), frozenset(int(p) for p in doc["partitions"]), int(doc["total"]), entries,
                bool(doc["more"]))


def counts_json(counts: Counts) -> dict[str, Any]:
    return {"worker": counts.worker, "partitions": sorted(counts.partitions), "counts": counts.counts}


def counts_from_json(doc: Mapping[str, Any]) -> Counts:
    return Counts(str(doc["worker"]), frozenset(int(p) for p in doc["partitions"]),
                  {str(s): int(n) for s, n in doc["counts"].items()})
