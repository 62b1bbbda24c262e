"""Ingest: verified webhooks acked per second, beside the HTTP ceiling and a raw producer.

Flat out, many keep-alive connections, load from a separate process pinned to its own core
(wrk when installed, else `bench.loadgen`), Koywe-signed bodies. The arms run in interleaved
rounds (bench/fair.py); figures are medians, ratios medians of the per-round ratios, and each
server's CPU per request (its CPU seconds ÷ answers) is reported beside its rate. Baselines:
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

from bench.common import REPO, CpuMeter, OffsetWatcher, bench_run, free_port, rate, settings_env, wait_http
from bench.dataset import lifecycle_bodies, raw_record
from bench.fair import Arm, interleave, median, values
from bench.loadgen import finish_loadgen, have_wrk, run_wrk, spawn_loadgen, write_bodies
from bench.machine import LOADGEN_CPUS, SERVER_CPUS, find_broker
from bench.profiling import finish_pyspy, start_pyspy
from bench.report import BenchResult, Figure, paired_baseline
from bench.targets import INGEST_VS_NOWORK, TARGETS
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from ingest.gateway.producer import RawProducer


def drive(url: str, bodies_file: Path, *, tool: str, duration_s: float, concurrency: int,
          meter: CpuMeter | None = None) -> dict[str, Any]:
    """Flat-out POSTs from a separate process, pinned to the loadgen's core; the loadgen's JSON,
    with `cores` from `meter` over the measured window (wrk's warm-up is a run of its own, kept
    out; the aiohttp loadgen's 1 s warm-up at the same load is inside)."""
    if tool == "wrk":
        run_wrk(url, bodies_file, duration_s=1, concurrency=concurrency, warmup_s=0)
        if meter:
            meter.start()
        out = run_wrk(url, bodies_file, duration_s=duration_s, concurrency=concurrency, warmup_s=0)
    else:
        if meter:
            meter.start()
        out = finish_loadgen(spawn_loadgen(url, bodies_file, duration_s=duration_s, concurrency=concurrency),
                             timeout_s=duration_s + 120)
    if meter:
        out["cores"] = meter.stop()
    return out


def ingest_producer(settings: Settings) -> AIOKafkaProducer:
    """An aiokafka producer configured exactly as ingest's (so baseline (b) follows its tuning)."""
    return RawProducer.from_settings(settings)._new_producer()


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


def _per_request(run: dict[str, Any], server: str) -> dict[str, Any]:
    """CPU µs per accepted request of the server and of the broker (cores ÷ rate)."""
    per_s, cores = run.get("accepted_per_s") or run.get("acked_per_s") or 0.0, run["cores"]
    for who, key in ((server, "cpu_us_per_req"), ("broker", "broker_cpu_us_per_req")):
        if who in cores and per_s > 0:
            run[key] = round(cores[who] / per_s * 1e6, 1)
    return run


def run_ingest(*, duration_s: float = 5.0, concurrency: int = 64, bodies: int = 20_000, rounds: int = 5,
               loadgen: str = "auto", profile: bool = True,
               compare: dict[str, Path] | None = None) -> BenchResult:
    """(a), ingest and (b) in `rounds` interleaved rounds on one prefix (bench/fair.py); then, if
    `profile`, one more ingest run under py-spy (kept out of the figures). `compare` adds arms:
    `hooklog ingest` run from other source trees (e.g. the code before a change), same rounds."""
    started = time.perf_counter()
    tool = "wrk" if loadgen == "wrk" or (loadgen == "auto" and have_wrk()) else "aiohttp"
    broker, broker_how = find_broker()
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        made = [b for _, b in zip(range(bodies), lifecycle_bodies(settings.topic_prefix, bodies, secret))]
        bodies_file = write_bodies(workdir / "bodies.tsv", [(b.order_id, b.body) for b in made])
        asyncio.run(ensure_topics(settings, timeout_s=30))

        port = free_port()
        null = children.spawn("nullserver", [sys.executable, "-m", "bench.nullserver", "--port", str(port)],
                              settings_env(settings), cpus=SERVER_CPUS)
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, null)
        servers: dict[str, tuple[str, int]] = {"nullserver": (f"http://127.0.0.1:{port}", null.pid)}
        for name, src in {"ingest": REPO, **(compare or {})}.items():
            arm = settings.model_copy(update={"ingest_port": free_port()})
            proc = children.role(arm, "ingest", name=name, cwd=Path(src), cpus=SERVER_CPUS)
            wait_http(f"http://127.0.0.1:{arm.ingest_port}/readyz", 30, proc)
            servers[name] = (f"http://127.0.0.1:{arm.ingest_port}", proc.pid)
        before = asyncio.run(_raw_count(settings))
        records = [raw_record(b) for b in made[:5000]]

        def http_arm(name: str) -> Arm:
            base, pid = servers[name]

            def run(_: int) -> dict[str, Any]:
                out = drive(f"{base}/webhooks/koywe", bodies_file, tool=tool, duration_s=duration_s,
                            concurrency=concurrency, meter=CpuMeter({name: pid, "broker": broker}))
                return _per_request(out, name)

            return run

        def raw_arm(_: int) -> dict[str, Any]:
            meter = CpuMeter({"producer (this process)": os.getpid(), "broker": broker}).start()
            out = asyncio.run(raw_producer_rate(settings, records, duration_s=duration_s, concurrency=concurrency))
            out["cores"] = meter.stop()
            out["accepted_per_s"] = out["acked_per_s"]
            return _per_request(out, "producer (this process)")

        arms: dict[str, Arm] = {"ingest": http_arm("ingest"), "nullserver": http_arm("nullserver"),
                                **{name: http_arm(name) for name in compare or {}}, "raw_producer": raw_arm}
        runs = interleave(arms, rounds)

        prof = None
        if profile:
            base, pid = servers["ingest"]
            spy = start_pyspy(pid, duration_s + 1, workdir / "ingest.collapsed")
            drive(f"{base}/webhooks/koywe", bodies_file, tool=tool, duration_s=duration_s, concurrency=concurrency)
            prof = finish_pyspy(spy, workdir / "ingest.collapsed", "ingest",
                                f"hooklog ingest under flat-out {tool} load, c={concurrency}", duration_s + 1)
        for name in servers:
            if name != "nullserver":
                children.stop(next(p for p in children.procs if p.pid == servers[name][1]))
        stored = asyncio.run(_raw_count(settings)) - before
    return _result(runs, compare or {}, tool=tool, duration_s=duration_s, concurrency=concurrency, bodies=bodies,
                   rounds=rounds, broker=(broker, broker_how), stored=stored, prof=prof,
                   elapsed_s=time.perf_counter() - started)


def _result(runs: dict[str, list[dict[str, Any]]], compare: dict[str, Path], *, tool: str, duration_s: float,
            concurrency: int, bodies: int, rounds: int, broker: tuple[int | None, str], stored: int,
            prof: str | None, elapsed_s: float) -> BenchResult:
    rate_of = {name: values(rs, "accepted_per_s") for name, rs in runs.items()}
    cpu_of = {name: [r.get("cpu_us_per_req", 0.0) for r in rs] for name, rs in runs.items()}
    ingest = rate_of["ingest"]
    value = median(ingest)
    throughput = Figure(
        bench="ingest", name="verified webhooks acked/s", value=value, unit="req/s", rounds=ingest,
        baselines=[paired_baseline("(a) aiohttp, 200 with no work", ingest, rate_of["nullserver"]),
                   paired_baseline("(b) raw aiokafka producer", ingest, rate_of["raw_producer"]),
                   *(paired_baseline(f"ingest from {src}", ingest, rate_of[name]) for name, src in compare.items())],
        target=f"{TARGETS['ingest'].text} (a)",
        note=(f"{tool} pinned to CPU {sorted(LOADGEN_CPUS or [])}, servers to {sorted(SERVER_CPUS or [])} "
              f"(the broker and other users float); {concurrency} keep-alive connections, {duration_s:.0f} s flat "
              f"out per arm per round; broker pid {broker[0]} ({broker[1]})"),
    )
    vs_nowork = throughput.ratio(throughput.baselines[0])
    throughput.met = vs_nowork is not None and vs_nowork >= INGEST_VS_NOWORK
    cpu = Figure(
        bench="ingest", name="ingest CPU per acked request", value=median(cpu_of["ingest"]), unit="µs",
        rounds=cpu_of["ingest"],
        baselines=[paired_baseline("(a) aiohttp, 200 with no work", cpu_of["ingest"], cpu_of["nullserver"]),
                   *(paired_baseline(f"ingest from {src}", cpu_of["ingest"], cpu_of[name])
                     for name, src in compare.items())],
        note="the server process's CPU ÷ its answers/s (lower is better); broker CPU per request: ingest "
             f"{median([r.get('broker_cpu_us_per_req', 0.0) for r in runs['ingest']]):.0f} µs, raw producer "
             f"{median([r.get('broker_cpu_us_per_req', 0.0) for r in runs['raw_producer']]):.0f} µs",
    )
    return BenchResult(
        name="ingest", figures=[throughput, cpu],
        params={"duration_s": duration_s, "concurrency": concurrency, "bodies": bodies, "loadgen": tool,
                "rounds": rounds, "compare": {k: str(v) for k, v in compare.items()}},
        detail={"rounds": runs, "broker": {"pid": broker[0], "found_by": broker[1]},
                "raw_records_stored_during_ingest_runs": stored, "profile": prof},
        elapsed_s=elapsed_s,
    )
