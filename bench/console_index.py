"""`python -m bench console-index`: the console's stuck-orders query at 1M orders, beside a scan.

Figure: one `/console/orders?state=S&older_than=D` page (50 newest, and a deep page) answered
from streams/order_index/index.py's OrderIndex holding N orders. Baseline, same run: the same
answer by a linear scan over the same N (state, updatedAt) rows with heapq.nlargest, what a
view without an index would do over the local table's values (already parsed: the real scan
would also read RocksDB and parse JSON, so the baseline is a lower bound). Rounds interleave
the two. Also: the cost of one fold-side update (`put`, a state move) and the index's memory
(tracemalloc; the order ids count, as the worker's index owns them).
No broker: the index is pure.
"""

from __future__ import annotations

import gc
import heapq
import random
import statistics
import time
import tracemalloc

from bench.report import Baseline, BenchResult, Figure, machine
from streams.order_index.index import OrderIndex

STATES = ("WAITING", "PENDING", "IN_PROGRESS", "DELIVERED", "REJECTED")
HOUR_MS = 3_600_000


def _rows(orders: int, seed: int = 13) -> list[tuple[str, str, int, int]]:
    rng = random.Random(seed)
    now = 1_800_000_000_000
    return [(f"ord-{i:08d}", rng.choice(STATES), now - rng.randrange(30 * 24 * HOUR_MS), i % 12) for i in range(orders)]


def _scan(rows: list[tuple[str, str, int, int]], state: str, before: int, offset: int, limit: int) -> list[str]:
    hits = ((t, o) for o, s, t, _ in rows if s == state and t < before)
    return [o for _, o in heapq.nlargest(offset + limit, hits)[offset:]]


def run_console_index(orders: int = 1_000_000, rounds: int = 5) -> BenchResult:
    started = time.perf_counter()
    rows = _rows(orders)
    gc.collect()
    tracemalloc.start()
    index = OrderIndex()
    build = time.perf_counter()
    for order_id, state, updated, partition in rows:
        # a fresh id string per order, as the worker's fold hands it over (the index keeps it)
        index.put(order_id.encode().decode(), state, updated, partition)
    build_s = time.perf_counter() - build
    index_mib = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    before = rows[0][2] + 1 - 24 * HOUR_MS  # older than ~1 day
    queries = [("PENDING", before, 0, 50), ("PENDING", before, 50_000, 50)]
    index_ms: list[float] = []
    scan_ms: list[float] = []
    for _ in range(rounds):  # interleaved: index, scan, index, scan ...
        for state, bound, offset, limit in queries:
            t0 = time.perf_counter()
            got = [e.order_id for e in index.older_than(state, bound, offset, limit).entries]
            index_ms.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            want = _scan(rows, state, bound, offset, limit)
            scan_ms.append((time.perf_counter() - t0) * 1e3)
            assert got == want, "the index and the scan disagree"
    rng = random.Random(5)
    moves = [(rows[rng.randrange(orders)][0], rng.choice(STATES), rng.randrange(2**40)) for _ in range(20_000)]
    t0 = time.perf_counter()
    for order_id, state, updated in moves:
        index.put(order_id, state, updated, 0)
    put_us = (time.perf_counter() - t0) / len(moves) * 1e6
    worst, median_scan = max(index_ms), statistics.median(scan_ms)
    figures = [
        Figure("console-index", "stuck-orders page, worst of rounds", worst, "ms",
               [Baseline("linear scan + nlargest, median", median_scan)], "< 1000 ms at 1M orders",
               worst < 1000 and orders >= 1_000_000),
        Figure("console-index", "fold-side update (state move)", put_us, "µs"),
        Figure("console-index", "index memory (tracemalloc)", index_mib, "MiB", note=f"built in {build_s:.1f} s"),
    ]
    return BenchResult("console-index", figures, {"orders": orders, "rounds": rounds},
                       {"index_ms": index_ms, "scan_ms": scan_ms, "machine": machine()},
                       time.perf_counter() - started)
