"""Worker fold throughput: events/s from the raw topic into tables and projection topics.

The same raw records (whole Koywe lifecycles, signed, as ingest writes them) are laid on a
fresh raw topic; then, one after the other:
- `hooklog worker` (Faust, RocksDB tables + changelogs, `.orders.v1` output) folds them;
- baseline (a): the pure folds in a plain loop over the same events, decoded beforehand;
- baseline (b): Quix Streams folding the same topic with hooklog's `process_record` and its
  own RocksDB state store (bench/quixfold.py, in bench/.venv);
- reference (c): `process_record` in a plain loop over dict tables (decode + fold + state
  JSON, no Kafka): the per-event cost every Kafka-fed fold pays.
A Kafka-fed rate counts from the first output record to the last (startup and rebalance
excluded). The worker publishes one `orders` record per order per batch (not per event), so
its run ends when its group's committed offsets reach the raw topic's end, at the last output
record seen before that; Quix publishes one per event and ends at the events-th record.
`compare` runs another source tree's `hooklog worker` (e.g. the code before a change) in the
same rounds, each on a fresh prefix too.
All four run in interleaved rounds (bench/fair.py): medians, and medians of per-round ratios.
Target: worker >= 1.0 x (b) (bench/targets.py; what 1.5 x would take: docs/performance.md).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from bench.common import (REPO, Children, CpuMeter, OffsetWatcher, bench_run, broker_pid, create_topics, produce, rate,
                          rss_kib)
from bench.dataset import WAVE, lifecycle_bodies, raw_record
from bench.fair import Arm, interleave, median, values
from bench.machine import find_broker
from bench.profiling import finish_pyspy, start_pyspy
from bench.report import Baseline, BenchResult, Figure, paired_baseline
from bench.targets import FOLD_VS_QUIX, TARGETS
from floor.kafka.names import worker_group
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from projections.registry import PROJECTIONS, projection_for
from schemas.decoding import decode_fact
from schemas.envelope import decode_envelope, utcnow
from streams.worker.processing import process_record

QUIX_PYTHON = REPO / "bench" / ".venv" / "bin" / "python"
QUIX_REQUIREMENTS = REPO / "bench" / "requirements-quix.txt"


def quix_available() -> bool:
    return QUIX_PYTHON.exists() and subprocess.run(
        [str(QUIX_PYTHON), "-c", "import quixstreams"], capture_output=True, check=False).returncode == 0


def pure_fold_rate(records: list[tuple[bytes, bytes]]) -> float:
    """Baseline (a): decode first (untimed), then fold every fact into dict states."""
    facts = [decode_fact(decode_envelope(value)) for _, value in records]
    states: dict[tuple[str, str], Any] = {}
    start = time.perf_counter()
    for fact in facts:
        projection = projection_for(fact)
        key = (projection.name, fact.aggregateId)
        states[key], _alerts = projection.fold(states.get(key), fact)
    return rate(len(facts), time.perf_counter() - start)


def process_record_rate(records: list[tuple[bytes, bytes]]) -> float:
    """Reference (c): the worker's per-record code, minus Kafka and Faust."""
    tables: dict[str, dict[str, bytes]] = {"orders": {}, "kyc": {}}
    start = time.perf_counter()
    for _, value in records:
        process_record(value, tables, utcnow)
    return rate(len(records), time.perf_counter() - start)


def process_record_breakdown(records: list[tuple[bytes, bytes]]) -> dict[str, float]:
    """µs per event of each step `process_record` takes, each timed over all events in turn."""
    n = max(1, len(records))

    def timed(step: Any) -> tuple[float, Any]:
        start = time.perf_counter()
        out = step()
        return round((time.perf_counter() - start) / n * 1e6, 2), out

    t_env, envelopes = timed(lambda: [decode_envelope(v) for _, v in records])
    t_fact, facts = timed(lambda: [decode_fact(e) for e in envelopes])
    states: dict[str, Any] = {}

    def fold_all() -> list[Any]:
        out = []
        for fact in facts:
            projection = projection_for(fact)
            states[fact.aggregateId], _ = projection.fold(states.get(fact.aggregateId), fact)
            out.append((projection.state_type, states[fact.aggregateId]))
        return out

    t_fold, folded = timed(fold_all)
    t_dump, dumped = timed(lambda: [(kind, state.model_dump_json().encode()) for kind, state in folded])
    t_load, _ = timed(lambda: [kind.model_validate_json(raw) for kind, raw in dumped])
    return {"decode_envelope": t_env, "decode_fact": t_fact, "fold": t_fold, "state_model_dump_json": t_dump,
            "state_model_validate_json": t_load, "avg_state_bytes": round(sum(len(r) for _, r in dumped) / n)}


class RssSampler:
    """Peak RSS of a process, sampled every 0.2 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak_kib = max(self.peak_kib, rss_kib(self.pid)[0])
            except OSError:
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kib


async def wait_committed(settings: Settings, output_topic: str, group: str, events: int, timeout_s: float,
                         alive: subprocess.Popen[bytes], on_first: Any, poll_s: float = 0.05,
                         commit_poll_s: float = 0.25) -> tuple[float, int, float, int]:
    """Poll `output_topic`'s end offsets until `group` has committed all `events` raw records;
    (t_first, n_first, t_last, n_last) of the output records, as `OffsetWatcher.wait_for`."""
    raw = settings.topic("raw")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        async with OffsetWatcher(settings.kafka_bootstrap_servers, [output_topic], settings.partitions) as w:
            base, deadline, check = await w.total(), time.monotonic() + timeout_s, 0.0
            first: tuple[float, int] | None = None
            last = (0.0, 0)
            while True:
                now, n = time.perf_counter(), await w.total() - base
                if n > last[1]:
                    last = (now, n)
                if first is None and n > 0:
                    first = (now, n)
                    on_first()
                if first is not None and time.monotonic() >= check:
                    offsets = await admin.list_consumer_group_offsets(group)
                    if sum(m.offset for tp, m in offsets.items() if tp.topic == raw and m.offset > 0) >= events:
                        return first[0], first[1], last[0], last[1]
                    check = time.monotonic() + commit_poll_s
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{group} not done after {timeout_s:.0f}s ({n} output records)")
                if alive.poll() is not None:
                    raise RuntimeError(f"{alive.args} exited with {alive.returncode} after {n} output records")
                await asyncio.sleep(poll_s)
    finally:
        await admin.close()


def measure_kafka_fold(proc: subprocess.Popen[bytes], settings: Settings, output_topic: str, events: int, *,
                       name: str, workdir: Path, profile_s: float, broker: int | None = None,
                       group: str | None = None) -> dict[str, Any]:
    """Wait until `output_topic` holds one record per event, or (`group`) until that group
    committed every event; rate from the first output to the last."""
    spy: list[subprocess.Popen[bytes] | None] = []
    sampler = RssSampler(proc.pid)
    meter = CpuMeter({name: proc.pid, "broker": broker or broker_pid()})

    def first_output() -> None:
        meter.start()
        if profile_s > 0:
            spy.append(start_pyspy(proc.pid, profile_s, workdir / f"{name}.collapsed"))

    async def wait() -> tuple[float, int, float, int]:
        if group is not None:
            return await wait_committed(settings, output_topic, group, events, 180 + events / 500, proc, first_output)
        async with OffsetWatcher(settings.kafka_bootstrap_servers, [output_topic], settings.partitions) as w:
            return await w.wait_for(events, timeout_s=180 + events / 500, alive=proc, on_first=first_output)

    started = time.perf_counter()
    t_first, n_first, t_done, n_done = asyncio.run(wait())
    t_stop = time.perf_counter()
    cores = meter.stop()
    peak = sampler.stop()
    prof = finish_pyspy(spy[0] if spy else None, workdir / f"{name}.collapsed", name,
                        f"{name} folding {events} events", profile_s)
    if n_done - n_first < max(1, events // 10):  # (tiny runs) all done within a poll or two:
        t_first, n_first = started, 0  # count from the start, startup included
    # Events folded after the first poll: its output records stood for (at most) that many.
    folded = max(1, (events if group is not None else n_done) - n_first)
    # CPU over the meter's whole window (with `group`, up to a commit poll past the last output)
    cpu_us = cores.get(name, 0.0) * ((t_stop if group is not None else t_done) - t_first) / folded * 1e6
    return {"events_per_s": rate(folded, t_done - t_first), "startup_s": t_first - started,
            "cpu_us_per_event": round(cpu_us, 1),
            "fold_s": t_done - t_first, "outputs": n_done, "peak_rss_mib": peak / 1024, "profile": prof,
            "cores": cores}


def run_quix(children: Children, settings: Settings, events: int, workdir: Path, profile_s: float,
             broker: int | None = None) -> dict[str, Any]:
    prefix = f"{settings.topic_prefix}-quix"
    names = (*(p.name for p in PROJECTIONS), "alerts", "dlq")  # = bench.quixfold.OUTPUTS
    asyncio.run(create_topics(settings.kafka_bootstrap_servers, [f"{prefix}.{n}.v1" for n in names],
                              settings.partitions))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = children.spawn("quix", [str(QUIX_PYTHON), "-m", "bench.quixfold", "--bootstrap",
                                   settings.kafka_bootstrap_servers, "--raw-topic", settings.topic("raw"),
                                   "--group", prefix, "--state-dir", str(workdir / f"quix-state-{prefix}"),
                                   "--out-prefix", prefix], env)
    try:
        return measure_kafka_fold(proc, settings, f"{prefix}.orders.v1", events, name="quix", workdir=workdir,
                                  profile_s=profile_s, broker=broker)
    except (TimeoutError, RuntimeError) as exc:
        raise RuntimeError(f"{exc}\n--- quix log ---\n{children.log_tail('quix')}") from None
    finally:
        children.stop(proc)


def run_fold(*, orders: int = 12_000, profile: bool = True, quix: bool = True, profile_s: float = 8.0,
             worker_env: dict[str, str] | None = None, rounds: int = 3,
             compare: dict[str, Path] | None = None, wave: int = WAVE) -> BenchResult:
    """Lay down `orders` lifecycles (~4.5 events each), then time the worker, (a), (b) and (c) in
    `rounds` interleaved rounds (bench/fair.py). A Kafka-fed arm needs fresh state, so each round
    has a topic prefix of its own (`<prefix>r<i>`) with the same records laid down on it; the
    worker folds it from scratch and Quix reads the same raw topic with a group of its own.
    py-spy (when `profile`) runs in round 0 only."""
    started = time.perf_counter()
    broker, broker_how = find_broker()
    with_quix = quix and quix_available()
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        records = [raw_record(b) for b in lifecycle_bodies(settings.topic_prefix, orders, secret, wave=wave)]
        events = len(records)
        breakdown = process_record_breakdown(records)
        laid: dict[tuple[int, str], Settings] = {}

        def round_settings(i: int, arm: str = "") -> Settings:
            """Round i's prefix and datadir (one per arm that folds into its own state), its raw
            topic laid down on first use (outside any timing)."""
            if (i, arm) not in laid:
                laid[(i, arm)] = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}r{i}{arm}",
                                                             "data_dir": workdir / f"data-r{i}{arm}"})
                asyncio.run(ensure_topics(laid[(i, arm)], timeout_s=30))
                asyncio.run(produce(settings.kafka_bootstrap_servers, laid[(i, arm)].topic("raw"), records))
            return laid[(i, arm)]

        def worker_arm(source: str, tree: Path) -> Arm:
            def arm(i: int) -> dict[str, Any]:
                own = round_settings(i, "" if source == "worker" else source)
                proc = children.role(own, "worker", extra_env=worker_env, name=f"{source}-r{i}", cwd=tree)
                try:
                    return measure_kafka_fold(proc, own, own.topic("orders"), events, name="worker",
                                              workdir=workdir, broker=broker, group=worker_group(own),
                                              profile_s=profile_s if profile and i == 0 and source == "worker" else 0.0)
                except (TimeoutError, RuntimeError) as exc:
                    raise RuntimeError(f"{exc}\n--- worker log ---\n{children.log_tail(f'{source}-r{i}')}") from None
                finally:
                    children.stop(proc)
            return arm

        arms: dict[str, Arm] = {
            "worker": worker_arm("worker", REPO),
            **{name: worker_arm(name, tree) for name, tree in (compare or {}).items()},
            "pure": lambda i: {"events_per_s": pure_fold_rate(records)},
            "process_record": lambda i: {"events_per_s": process_record_rate(records)},
        }
        if with_quix:
            arms["quix"] = lambda i: run_quix(children, round_settings(i), events, workdir,
                                              profile_s if profile and i == 0 else 0.0, broker)
        runs = interleave(arms, rounds)
    return _fold_result(runs, compare or {}, wave=wave, orders=orders, events=events, rounds=rounds, quix=quix,
                        with_quix=with_quix,
                        settings=settings, worker_env=worker_env, breakdown=breakdown, broker=(broker, broker_how),
                        elapsed_s=time.perf_counter() - started)


def _fold_result(runs: dict[str, list[dict[str, Any]]], compare: dict[str, Path], *, wave: int, orders: int,
                 events: int, rounds: int, quix: bool,
                 with_quix: bool, settings: Settings, worker_env: dict[str, str] | None, breakdown: dict[str, float],
                 broker: tuple[int | None, str], elapsed_s: float) -> BenchResult:
    rate_of = {name: values(rs, "events_per_s") for name, rs in runs.items()}
    worker = rate_of["worker"]
    cpu = {name: median([r["cpu_us_per_event"] for r in runs[name]]) for name in ("worker", "quix", *compare)
           if name in runs}
    quix_base = (paired_baseline("(b) Quix Streams, same fold + RocksDB state", worker, rate_of["quix"]) if with_quix
                 else Baseline("(b) Quix Streams, same fold + RocksDB state", None,
                               "not run: `python -m bench setup-quix`" if quix else "skipped"))
    figure = Figure(
        bench="fold", name="worker fold events/s", value=median(worker), unit="ev/s", rounds=worker,
        baselines=[paired_baseline("(a) pure folds, plain loop", worker, rate_of["pure"]), quix_base,
                   paired_baseline("(c) process_record loop, no Kafka", worker, rate_of["process_record"]),
                   *(paired_baseline(f"worker from {tree}", worker, rate_of[name],
                                     f"CPU per event {cpu[name]:.0f} µs") for name, tree in compare.items())],
        target=f"{TARGETS['fold'].text} (b)",
        note=(f"{events} events ({orders} orders), {rounds} rounds; CPU per event (median): worker "
              f"{cpu['worker']:.0f} µs" + (f", Quix {cpu['quix']:.0f} µs" if "quix" in cpu else "")
              + f"; worker peak RSS {runs['worker'][0]['peak_rss_mib']:.0f} MiB; cores used while folding "
              f"(round 0): worker run {runs['worker'][0]['cores']}"
              + (f", Quix run {runs['quix'][0]['cores']}" if with_quix else "")
              + f"; broker pid {broker[0]} ({broker[1]})"),
    )
    vs_quix = figure.ratio(quix_base)
    figure.met = None if vs_quix is None else vs_quix >= FOLD_VS_QUIX
    return BenchResult(
        name="fold", figures=[figure],
        params={"orders": orders, "events": events, "partitions": settings.partitions, "rounds": rounds,
                "table_store": settings.table_store, "worker_env": worker_env or {},
                "compare": {name: str(tree) for name, tree in compare.items()}, "wave": wave},
        detail={"rounds": runs, "worker": runs["worker"][0], "quix": runs["quix"][0] if with_quix else None,
                "pure_fold_per_s": median(rate_of["pure"]), "process_record_per_s": median(rate_of["process_record"]),
                "process_record_us_per_event": breakdown, "broker": {"pid": broker[0], "found_by": broker[1]}},
        elapsed_s=elapsed_s,
    )
