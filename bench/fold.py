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
excluded): every event here publishes exactly one `orders` record.
Targets: worker >= 1.5 x (b) and >= 0.5 x (a).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (REPO, Children, CpuMeter, OffsetWatcher, bench_run, broker_pid, create_topics, produce, rate,
                          rss_kib)
from bench.dataset import lifecycle_bodies, raw_record
from bench.profiling import finish_pyspy, start_pyspy
from bench.report import Baseline, BenchResult, Figure
from ingest.topics import ensure_topics
from projections.registry import PROJECTIONS, projection_for
from schemas.decoding import decode_fact
from schemas.envelope import decode_envelope, utcnow
from schemas.settings import Settings
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


def measure_kafka_fold(proc: subprocess.Popen[bytes], settings: Settings, output_topic: str, events: int, *,
                       name: str, workdir: Path, profile_s: float) -> dict[str, Any]:
    """Wait until `output_topic` holds one record per event; rate from first to last output."""
    spy: list[subprocess.Popen[bytes] | None] = []
    sampler = RssSampler(proc.pid)
    meter = CpuMeter({name: proc.pid, "broker": broker_pid()})

    def first_output() -> None:
        meter.start()
        if profile_s > 0:
            spy.append(start_pyspy(proc.pid, profile_s, workdir / f"{name}.collapsed"))

    async def wait() -> tuple[float, int, float, int]:
        async with OffsetWatcher(settings.kafka_bootstrap_servers, [output_topic], settings.partitions) as w:
            return await w.wait_for(events, timeout_s=180 + events / 500, alive=proc, on_first=first_output)

    started = time.perf_counter()
    t_first, n_first, t_done, n_done = asyncio.run(wait())
    cores = meter.stop()
    peak = sampler.stop()
    prof = finish_pyspy(spy[0] if spy else None, workdir / f"{name}.collapsed", name,
                        f"{name} folding {events} events", profile_s)
    if n_done - n_first < max(1, events // 10):  # (tiny runs) all done within a poll or two:
        t_first, n_first = started, 0  # count from the start, startup included
    folded = max(1, n_done - n_first)
    cpu_us = cores.get(name, 0.0) * (t_done - t_first) / folded * 1e6  # robust to a busy machine
    return {"events_per_s": rate(n_done - n_first, t_done - t_first), "startup_s": t_first - started,
            "cpu_us_per_event": round(cpu_us, 1),
            "fold_s": t_done - t_first, "outputs": n_done, "peak_rss_mib": peak / 1024, "profile": prof,
            "cores": cores}


def run_quix(children: Children, settings: Settings, events: int, workdir: Path, profile_s: float) -> dict[str, Any]:
    prefix = f"{settings.topic_prefix}-quix"
    names = (*(p.name for p in PROJECTIONS), "alerts", "dlq")  # = bench.quixfold.OUTPUTS
    asyncio.run(create_topics(settings.kafka_bootstrap_servers, [f"{prefix}.{n}.v1" for n in names],
                              settings.partitions))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = children.spawn("quix", [str(QUIX_PYTHON), "-m", "bench.quixfold", "--bootstrap",
                                   settings.kafka_bootstrap_servers, "--raw-topic", settings.topic("raw"),
                                   "--group", prefix, "--state-dir", str(workdir / "quix-state"),
                                   "--out-prefix", prefix], env)
    try:
        return measure_kafka_fold(proc, settings, f"{prefix}.orders.v1", events, name="quix", workdir=workdir,
                                  profile_s=profile_s)
    except (TimeoutError, RuntimeError) as exc:
        raise RuntimeError(f"{exc}\n--- quix log ---\n{children.log_tail('quix')}") from None
    finally:
        children.stop(proc)


def run_fold(*, orders: int = 12_000, profile: bool = True, quix: bool = True, profile_s: float = 8.0,
             worker_env: dict[str, str] | None = None) -> BenchResult:
    """Lay down `orders` lifecycles (~4.5 events each), then time the worker, (a), (b) and (c)."""
    started = time.perf_counter()
    profile_s = profile_s if profile else 0.0
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        records = [raw_record(b) for b in lifecycle_bodies(settings.topic_prefix, orders, secret)]
        events = len(records)
        asyncio.run(ensure_topics(settings, timeout_s=30))
        _, produce_s = asyncio.run(produce(settings.kafka_bootstrap_servers, settings.topic("raw"), records))

        pure = pure_fold_rate(records)
        loop = process_record_rate(records)
        breakdown = process_record_breakdown(records)

        worker = children.role(settings, "worker", extra_env=worker_env)
        try:
            faust = measure_kafka_fold(worker, settings, settings.topic("orders"), events, name="worker",
                                       workdir=workdir, profile_s=profile_s)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n--- worker log ---\n{children.log_tail('worker')}") from None
        children.stop(worker)

        quixed: dict[str, Any] | None = None
        if quix and quix_available():
            quixed = run_quix(children, settings, events, workdir, profile_s)

    value = faust["events_per_s"]
    b = quixed["events_per_s"] if quixed else None
    met = value >= 0.5 * pure and (b is None or value >= 1.5 * b)
    figure = Figure(
        bench="fold", name="worker fold events/s", value=value, unit="ev/s",
        baselines=[
            Baseline("(a) pure folds, plain loop", pure),
            Baseline("(b) Quix Streams, same fold + RocksDB state", b,
                     "" if quixed else "not run: `python -m bench setup-quix`" if quix else "skipped"),
            Baseline("(c) process_record loop, no Kafka", loop),
        ],
        target="≥ 1.5 × (b), ≥ 0.5 × (a)", met=met if quixed else (False if value < 0.5 * pure else None),
        note=(f"{events} events ({orders} orders); CPU per event: worker {faust['cpu_us_per_event']:.0f} µs"
              + (f", Quix {quixed['cpu_us_per_event']:.0f} µs" if quixed else "")
              + f"; worker peak RSS {faust['peak_rss_mib']:.0f} MiB; cores used while folding: worker run "
              f"{faust['cores']}" + (f", Quix run {quixed['cores']}" if quixed else "")),
    )
    return BenchResult(
        name="fold", figures=[figure],
        params={"orders": orders, "events": events, "partitions": settings.partitions,
                "table_store": settings.table_store, "worker_env": worker_env or {}},
        detail={"worker": faust, "quix": quixed, "pure_fold_per_s": pure, "process_record_per_s": loop,
                "process_record_us_per_event": breakdown,
                "produce_s": produce_s},
        elapsed_s=time.perf_counter() - started,
    )
