"""The cost of replication: ingest and the worker on the local three-node cluster beside one broker.

Both in the same run, on this machine: the shared single broker (replication factor 1, as
`hooklog up` makes it) and a three-node KRaft cluster of hooklog/dev/localcluster.py started for
the run (replication factor 3, `min.insync.replicas` 2: the product's defaults for it), each
with the topics hooklog creates by default. Four arms, in interleaved rounds (bench/fair.py):
- ingest on each: verified webhooks acked/s, flat out (as `bench ingest`: wrk or bench.loadgen
  pinned to its own core, ingest to the other), and CPU µs per request of ingest and of the
  broker(s) (the three nodes summed);
- the worker on each: events/s folded from a fresh raw topic into the tables, changelogs and
  projection topics (as `bench fold`: from the first output record to the last before the
  group committed every raw record), each round on a prefix of its own.
The figures are the three-node arms; their baseline, the one-broker arm of the same round
(the ratio is the median of the per-round ratios). The three nodes share the same 2 cores as
everything else: what is measured is the CPU replication costs here (every record written three
times, followers fetching), not a network's latency between brokers.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from itertools import islice
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import CpuMeter, bench_run, free_port, produce
from bench.dataset import lifecycle_bodies, raw_record
from bench.fair import Arm, interleave, median, values
from bench.fold import fold_once
from bench.ingest import _per_request, drive
from bench.loadgen import have_wrk, write_bodies
from bench.machine import LOADGEN_CPUS, SERVER_CPUS, find_broker
from bench.report import BenchResult, Figure, paired_baseline
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from hooklog.dev.localcluster import ClusterSpec, start_cluster, stop_cluster
from hooklog.dev.localkafka import read_pid
from hooklog.dev.probes import wait_http

ONE, THREE = "one broker", "three nodes"


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive ports nobody listens on (the cluster's nodes take B..B+2N-1)."""
    for _ in range(200):
        base = random.randrange(24_000, 30_000)
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports in 24000..30000")


def cluster_pids(spec: ClusterSpec) -> dict[str, int | None]:
    """{node name: pid} of the cluster's running nodes."""
    return {f"node{i + 1}": read_pid(node) for i, node in enumerate(spec.node_specs)}


def idle_cores(pids: dict[str, int | None], seconds: float = 5.0) -> dict[str, float]:
    """Cores each broker uses with no load of ours (the shared broker: other users' load included)."""
    meter = CpuMeter(pids).start()
    time.sleep(seconds)
    return meter.stop()


def _brokers_per_request(run: dict[str, Any], brokers: dict[str, int | None]) -> dict[str, Any]:
    """The broker CPU of a run, its nodes summed: cores and µs per accepted request."""
    cores = sum(run["cores"].get(name, 0.0) for name in brokers)
    per_s = run.get("accepted_per_s") or run.get("events_per_s") or 0.0
    run["broker_cores"] = round(cores, 2)
    run["broker_cpu_us"] = round(cores / per_s * 1e6, 1) if per_s > 0 else 0.0
    return run


def run_replication(*, rounds: int = 3, duration_s: float = 5.0, concurrency: int = 64, orders: int = 3000,
                    bodies: int = 20_000, loadgen: str = "auto", spec: ClusterSpec | None = None,
                    idle_s: float = 5.0) -> BenchResult:
    """Ingest and the worker on one broker and on three nodes, `rounds` interleaved rounds.
    `spec`: a running cluster to use (a test's); default, one started for the run and stopped after."""
    started = time.perf_counter()
    tool = "wrk" if loadgen == "wrk" or (loadgen == "auto" and have_wrk()) else "aiohttp"
    single, single_how = find_broker()
    with bench_run() as (one, children, workdir):
        own_cluster = spec is None
        spec = spec or ClusterSpec(nodes=3, base_port=consecutive_free_ports(6), data_dir=workdir / "cluster")
        try:
            start_cluster(spec)
            three = one.model_copy(update={"kafka_bootstrap_servers": spec.bootstrap})
            brokers = {ONE: {"broker": single}, THREE: cluster_pids(spec)}
            targets = {ONE: one, THREE: three}
            secret = one.koywe_secret_list[0].get_secret_value()
            made = list(islice(lifecycle_bodies(one.topic_prefix, bodies, secret), bodies))
            bodies_file = write_bodies(workdir / "bodies.tsv", [(b.order_id, b.body) for b in made])
            records = [raw_record(b) for b in lifecycle_bodies(f"{one.topic_prefix}f", orders, secret)]
            arms: dict[str, Arm] = {}
            for name, settings in targets.items():
                arms[f"ingest, {name}"] = _ingest_arm(children, settings, brokers[name], bodies_file, tool=tool,
                                                      duration_s=duration_s, concurrency=concurrency, name=name)
                arms[f"worker, {name}"] = _worker_arm(children, settings, brokers[name], records, workdir, name)
            idle = idle_cores({**brokers[ONE], **brokers[THREE]}, idle_s)
            for name in targets:  # the fresh cluster's JVMs warm up (the shared broker is long warm): unmeasured
                arms[f"ingest, {name}"](-1)
            runs = interleave(arms, rounds)
        finally:
            children.close()
            if own_cluster:
                stop_cluster(spec)
    return _result(runs, idle, rounds=rounds, duration_s=duration_s, concurrency=concurrency, orders=orders,
                   events=len(records), tool=tool, single=(single, single_how), spec=spec,
                   elapsed_s=time.perf_counter() - started)


def _ingest_arm(children: Any, settings: Settings, brokers: dict[str, int | None], bodies_file: Path, *,
                tool: str, duration_s: float, concurrency: int, name: str) -> Arm:
    """`hooklog ingest` on `settings`' cluster, started now (its raw topic made with the defaults),
    driven flat out in each round."""
    own = settings.model_copy(update={"ingest_port": free_port()})
    asyncio.run(ensure_topics(own, timeout_s=60))
    proc = children.role(own, "ingest", name=f"ingest-{name.replace(' ', '-')}", cpus=SERVER_CPUS)
    wait_http(f"http://127.0.0.1:{own.ingest_port}/readyz", 60, proc)

    def run(_: int) -> dict[str, Any]:
        out = drive(f"http://127.0.0.1:{own.ingest_port}/webhooks/koywe", bodies_file, tool=tool,
                    duration_s=duration_s, concurrency=concurrency, meter=CpuMeter({"ingest": proc.pid, **brokers}))
        return _brokers_per_request(_per_request(out, "ingest"), brokers)

    return run


def _worker_arm(children: Any, settings: Settings, brokers: dict[str, int | None], records: list[tuple[bytes, bytes]],
                workdir: Path, name: str) -> Arm:
    """The worker folding `records` from scratch on a prefix of the round's own (laid down first, untimed)."""
    tag = "one" if name == ONE else "three"

    def run(i: int) -> dict[str, Any]:
        own = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}w{tag}{i}",
                                          "data_dir": workdir / f"data-{tag}-{i}", "worker_port": free_port()})
        asyncio.run(ensure_topics(own, timeout_s=60))
        asyncio.run(produce(own.kafka_bootstrap_servers, own.topic("raw"), records))
        out = fold_once(children, own, len(records), workdir, name=f"worker-{tag}-r{i}", brokers=brokers)
        return _brokers_per_request(out, brokers)

    return run


def _result(runs: dict[str, list[dict[str, Any]]], idle: dict[str, float], *, rounds: int, duration_s: float, concurrency: int, orders: int,
            events: int, tool: str, single: tuple[int | None, str], spec: ClusterSpec, elapsed_s: float) -> BenchResult:
    def figure(role: str, key: str, unit: str, what: str, cpu: str) -> Figure:
        three, one = values(runs[f"{role}, {THREE}"], key), values(runs[f"{role}, {ONE}"], key)
        cpu_of: Callable[[str, str], float] = lambda name, k: median(values(runs[f"{role}, {name}"], k))
        return Figure(
            bench="replication", name=f"{what}, three nodes (RF 3, min.insync 2)", value=median(three), unit=unit,
            rounds=three, baselines=[paired_baseline(f"{what}, one broker (RF 1)", three, one)],
            target="reported (issue 20)",
            note=(f"CPU µs per {cpu} (median): {role} {cpu_of(THREE, 'cpu_us_per_req' if role == 'ingest' else 'cpu_us_per_event'):.0f} "
                  f"on three nodes vs {cpu_of(ONE, 'cpu_us_per_req' if role == 'ingest' else 'cpu_us_per_event'):.0f} "
                  f"on one; the broker(s) {cpu_of(THREE, 'broker_cpu_us'):.0f} (three nodes summed) vs "
                  f"{cpu_of(ONE, 'broker_cpu_us'):.0f}"),
        )

    ingest = figure("ingest", "accepted_per_s", "req/s", "verified webhooks acked/s", "request")
    ingest.note += (f"; {tool} pinned to CPU {sorted(LOADGEN_CPUS or [])}, ingest to {sorted(SERVER_CPUS or [])}, "
                    f"{concurrency} connections, {duration_s:.0f} s flat out per arm per round")
    worker = figure("worker", "events_per_s", "ev/s", "worker events folded/s", "event")
    worker.note += f"; {events} events ({orders} orders) folded from scratch per arm per round"
    nodes = sum(v for k, v in idle.items() if k.startswith("node"))
    for fig in (ingest, worker):
        fig.note += f"; idle, before the rounds: the three nodes {nodes:.2f} cores, the shared broker {idle.get('broker', 0):.2f}"
    return BenchResult(
        name="replication", figures=[ingest, worker],
        params={"rounds": rounds, "duration_s": duration_s, "concurrency": concurrency, "orders": orders,
                "events": events, "loadgen": tool, "cluster_bootstrap": spec.bootstrap},
        detail={"rounds": runs, "single_broker": {"pid": single[0], "found_by": single[1]},
                "idle_cores": idle},
        elapsed_s=elapsed_s,
    )
