"""Ingest: verified webhooks acked per second, beside the HTTP ceiling and a raw producer.

Flat out, many keep-alive connections, load from a separate process (wrk when installed, else
`bench.loadgen`), Koywe-signed bodies. Baselines in the same run:
(a) `bench.nullserver`: the same aiohttp server and route answering 200 with no work;
(b) a raw aiokafka producer with ingest's own producer settings sending the same records, one
    `send_and_wait` per record with as many in flight as the HTTP clients.
Target: ingest >= 0.6 x (a).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.common import CpuMeter, OffsetWatcher, bench_run, broker_pid, free_port, rate, settings_env, wait_http
from bench.dataset import lifecycle_bodies, raw_record
from bench.loadgen import finish_loadgen, have_wrk, run_wrk, spawn_loadgen, write_bodies
from bench.profiling import finish_pyspy, start_pyspy
from bench.report import Baseline, BenchResult, Figure
from ingest.producer import RawProducer
from ingest.topics import ensure_topics
from schemas.settings import Settings


def drive(url: str, bodies_file: Path, *, tool: str, duration_s: float, concurrency: int) -> dict[str, Any]:
    """Flat-out POSTs from a separate process; the loadgen's JSON."""
    if tool == "wrk":
        return run_wrk(url, bodies_file, duration_s=duration_s, concurrency=concurrency)
    proc = spawn_loadgen(url, bodies_file, duration_s=duration_s, concurrency=concurrency)
    return finish_loadgen(proc, timeout_s=duration_s + 120)


def ingest_producer(settings: Settings) -> AIOKafkaProducer:
    """An aiokafka producer configured exactly as ingest's (so baseline (b) follows its tuning)."""
    return RawProducer(settings.kafka_bootstrap_servers, settings.topic("raw"),
                       ack_timeout_s=settings.produce_timeout_s)._new_producer()


async def raw_producer_rate(settings: Settings, records: list[tuple[bytes, bytes]], *,
                            duration_s: float, concurrency: int) -> dict[str, Any]:
    """Baseline (b): `concurrency` loops of send_and_wait for `duration_s` (after a 1 s warm-up)."""
    producer = ingest_producer(settings)
    await producer.start()
    topic = settings.topic("raw")
    acked = 0
    counter = iter(range(10**12))
    try:
        start = time.perf_counter()
        measure_from, end = start + 1.0, start + 1.0 + duration_s

        async def loop() -> None:
            nonlocal acked
            while (now := time.perf_counter()) < end:
                key, value = records[next(counter) % len(records)]
                await producer.send_and_wait(topic, value, key=key)
                if now >= measure_from:
                    acked += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    finally:
        await producer.stop()
    return {"acked": acked, "acked_per_s": rate(acked, duration_s), "concurrency": concurrency}


async def _raw_count(settings: Settings) -> int:
    async with OffsetWatcher(settings.kafka_bootstrap_servers, [settings.topic("raw")], settings.partitions) as w:
        return await w.total()


def run_ingest(*, duration_s: float = 10.0, concurrency: int = 64, bodies: int = 20_000,
               loadgen: str = "auto", profile: bool = True) -> BenchResult:
    """Measure (a), ingest and (b) one after the other on a fresh prefix; delete its topics."""
    started = time.perf_counter()
    tool = "wrk" if loadgen == "wrk" or (loadgen == "auto" and have_wrk()) else "aiohttp"
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        made = [b for _, b in zip(range(bodies), lifecycle_bodies(settings.topic_prefix, bodies, secret))]
        bodies_file = write_bodies(workdir / "bodies.tsv", [(b.order_id, b.body) for b in made])

        port = free_port()
        null = children.spawn("nullserver", [sys.executable, "-m", "bench.nullserver", "--port", str(port)],
                              settings_env(settings))
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, null)
        meter = CpuMeter({"nullserver": null.pid, "broker": broker_pid()}).start()
        ceiling = drive(f"http://127.0.0.1:{port}/webhooks/koywe", bodies_file, tool=tool,
                        duration_s=duration_s, concurrency=concurrency)
        ceiling["cores"] = meter.stop()
        children.stop(null)

        asyncio.run(ensure_topics(settings, timeout_s=30))
        before = asyncio.run(_raw_count(settings))
        ingest = children.role(settings, "ingest")
        wait_http(f"http://127.0.0.1:{settings.ingest_port}/readyz", 30, ingest)
        spy = start_pyspy(ingest.pid, duration_s + 1, workdir / "ingest.collapsed") if profile else None
        meter = CpuMeter({"ingest": ingest.pid, "broker": broker_pid()}).start()
        measured = drive(f"http://127.0.0.1:{settings.ingest_port}/webhooks/koywe", bodies_file, tool=tool,
                         duration_s=duration_s, concurrency=concurrency)
        measured["cores"] = meter.stop()
        prof = finish_pyspy(spy, workdir / "ingest.collapsed", "ingest",
                            f"hooklog ingest under flat-out {tool} load, c={concurrency}", duration_s + 1)
        children.stop(ingest)
        stored = asyncio.run(_raw_count(settings)) - before

        records = [raw_record(b) for b in made[:5000]]
        meter = CpuMeter({"producer (this process)": os.getpid(), "broker": broker_pid()}).start()
        raw = asyncio.run(raw_producer_rate(settings, records, duration_s=duration_s, concurrency=concurrency))
        raw["cores"] = meter.stop()

    value = measured["accepted_per_s"]
    a, b = ceiling["accepted_per_s"], raw["acked_per_s"]
    errors = measured.get("errors") or {}
    figure = Figure(
        bench="ingest", name="verified webhooks acked/s", value=value, unit="req/s",
        baselines=[Baseline("(a) aiohttp, 200 with no work", a), Baseline("(b) raw aiokafka producer", b)],
        target="≥ 0.6 × (a)", met=value >= 0.6 * a,
        note=(f"{tool}, {concurrency} keep-alive connections, {duration_s:.0f} s flat out; ingest p99 "
              f"{measured['post_ms'].get('p99', 0):.1f} ms" + (f"; errors {errors}" if errors else "")
              + f"; cores used during the ingest run: {measured['cores']}"),
    )
    return BenchResult(
        name="ingest", figures=[figure],
        params={"duration_s": duration_s, "concurrency": concurrency, "bodies": bodies, "loadgen": tool},
        detail={"nullserver": ceiling, "ingest": measured, "raw_producer": raw,
                "raw_records_stored_during_ingest_run": stored, "profile": prof},
        elapsed_s=time.perf_counter() - started,
    )
