"""Worker RSS with N orders in its tables (target: < 500 MiB at 1M orders, bench/targets.py).

One `payment_created` per order is laid on a fresh raw topic; `hooklog worker` (default store,
RocksDB) folds them all, its RSS sampled from /proc while it does. Reported: RSS once every
order is in the tables (after a short settle), the peak, and the RSS curve by orders folded.
Baseline in the same run: the same worker's RSS idle, before it has folded anything.
The default N keeps the suite short; `--orders 1000000` measures the target's size.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import OffsetWatcher, bench_run, produce, rss_kib
from bench.dataset import created_bodies, raw_record
from bench.report import Baseline, BenchResult, Figure
from bench.targets import MEMORY_MIB, TARGETS
from floor.kafka.topics import ensure_topics

MIB = 1024


async def _fold_and_sample(settings: Any, pid: int, orders: int, timeout_s: float,
                           every_s: float = 1.0) -> list[tuple[float, int, int]]:
    """(seconds, orders in tables, RSS KiB) samples until every order is published."""
    curve: list[tuple[float, int, int]] = []
    started = time.perf_counter()
    async with OffsetWatcher(settings.kafka_bootstrap_servers, [settings.topic("orders")], settings.partitions) as w:
        while True:
            done = await w.total()
            curve.append((time.perf_counter() - started, done, rss_kib(pid)[0]))
            if done >= orders:
                return curve
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"only {done} of {orders} orders folded after {timeout_s:.0f}s")
            await asyncio.sleep(every_s)


def run_memory(*, orders: int = 100_000, settle_s: float = 3.0) -> BenchResult:
    started = time.perf_counter()
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        asyncio.run(ensure_topics(settings, timeout_s=30))
        records = (raw_record(b) for b in created_bodies(settings.topic_prefix, orders, secret))
        _, produce_s = asyncio.run(produce(settings.kafka_bootstrap_servers, settings.topic("raw"), records))
        # the worker starts on a full topic: idle RSS is read right after /healthz, before folding
        worker = children.role(settings, "worker")
        idle_kib = rss_kib(worker.pid)[0]
        try:
            curve = asyncio.run(_fold_and_sample(settings, worker.pid, orders, timeout_s=120 + orders / 300))
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n--- worker log ---\n{children.log_tail('worker')}") from None
        time.sleep(settle_s)
        rss, peak = rss_kib(worker.pid)
        store_bytes = sum(p.stat().st_size for p in (workdir / "data").rglob("*") if p.is_file())
        children.stop(worker)

    fold_s = curve[-1][0] - next((t for t, n, _ in curve if n > 0), 0.0)
    figures = [
        Figure(bench="memory", name=f"worker RSS with {orders:,} orders in tables", value=rss / MIB, unit="MiB",
               baselines=[Baseline("same worker idle, before folding", idle_kib / MIB)],
               target=f"{TARGETS['memory'].text} at 1M orders", met=(rss / MIB < MEMORY_MIB) if orders >= 1_000_000 else None,
               note=(f"peak {peak / MIB:.0f} MiB; RocksDB store {store_bytes / 2**20:.0f} MiB on disk; "
                     f"{orders:,} orders folded in {fold_s:.0f} s"
                     + ("" if orders >= 1_000_000 else "; the target's 1M orders needs `--orders 1000000`"))),
    ]
    step = max(1, len(curve) // 20)
    return BenchResult(
        name="memory", figures=figures, params={"orders": orders, "table_store": settings.table_store},
        detail={"idle_rss_mib": idle_kib / MIB, "rss_mib": rss / MIB, "peak_rss_mib": peak / MIB,
                "store_mib": store_bytes / 2**20, "produce_s": produce_s,
                "curve_s_orders_rss_mib": [(round(t, 1), n, round(k / MIB, 1)) for t, n, k in curve[::step] + curve[-1:]]},
        elapsed_s=time.perf_counter() - started,
    )
