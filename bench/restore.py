"""Restore: a worker on an empty disk reads its tables back from their changelogs, beside a plain
aiokafka read of the same changelogs (issue 24: the first node of a group, a lost disk, a new
region have no standby to take over from).

Set-up: N orders (one `payment_created` each) are laid on a fresh raw topic and folded by
`hooklog worker` until its group has committed them all; then it is stopped. Every round runs,
in rotated order (bench/fair.py):
- `restore`: the worker's local stores deleted, `hooklog worker` spawned; timed to `/readyz` 200
  (every table restored, the group's assignment known), also from the spawn (what a user
  waits); its peak RSS until then (VmHWM) is the restore's. The figure:
  changelog records ÷ the seconds from the bulk restore's start (its log line: the partitions
  assigned) to /readyz; the log's timeline (rebalance, bulk restore, ready, index) is in the JSON.
- `raw` (the baseline): a group-less aiokafka consumer with the worker's fetch size reads every
  changelog partition from its beginning to its end, touching each value, in this process.
- `kept`: the worker restarted with its disk kept (nothing to restore), timed from its group's
  first rebalance: the start's share that is not the restore.
Targets (bench/targets.py): ≥ 0.5× the raw read, ≥ 100k records/s, peak RSS < 500 MiB.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

import orjson

from bench.common import Children, CpuMeter, bench_run, produce, rate, rss_kib
from bench.dataset import created_bodies, raw_record
from bench.fair import Arm, interleave, median, values
from bench.fold import wait_committed
from bench.machine import find_broker
from bench.replay import raw_read_rate
from bench.report import Baseline, BenchResult, Figure, paired_baseline
from bench.targets import RESTORE_MIB, RESTORE_RECORDS_S, RESTORE_VS_RAW, TARGETS
from floor.kafka.names import changelog_topic, store_dir, worker_group
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from projections.registry import PROJECTIONS

MIB = 1024


def wait_ready(port: int, timeout_s: float, proc: Any, poll_s: float = 0.02) -> float:
    """Poll `/readyz` until it answers 200; the perf_counter time it did (finer than wait_http's
    0.2 s, which would be a tenth of a short restore)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode} before /readyz answered 200")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter()
        except (urllib.error.HTTPError, OSError):
            pass
        time.sleep(poll_s)
    raise TimeoutError(f"/readyz did not answer 200 within {timeout_s:.0f}s")


def log_events(children: Children, name: str) -> list[dict[str, Any]]:
    """The worker's JSON log lines (its own, not Faust's plain ones)."""
    path = children.logdir / f"{name}.log"
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return out


def _at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()


def timeline(events: list[dict[str, Any]], spawned: float, ready: float) -> dict[str, float | None]:
    """Seconds after the spawn (wall clock, as the log's `ts`) of: the group's first rebalance (the
    order index's first `console_index_revoked`), the bulk restore's start and end
    (`restored_in_bulk`), /readyz 200 and the order index's last partition built."""
    first = {e["event"]: e for e in reversed(events)}
    last = {e["event"]: e for e in events}
    bulk = last.get("restored_in_bulk")
    built = last.get("console_index_built")
    rebalance = first.get("console_index_revoked")

    def rel(at: float | None) -> float | None:
        return None if at is None else round(at - spawned, 3)

    return {"rebalance": rel(_at(rebalance) if rebalance else None),
            "bulk_start": rel(_at(bulk) - bulk["seconds"] if bulk else None), "bulk_end": rel(_at(bulk) if bulk else None),
            "ready": rel(ready), "index_built": rel(_at(built) if built else None)}


def start_to_ready(children: Children, settings: Settings, records: int, *, empty: bool, name: str,
                   broker: int | None, timeout_s: float) -> dict[str, Any]:
    """Spawn the worker (its stores deleted first when `empty`) and time it to /readyz 200: from
    its group's first rebalance (the restore's figure), and from the spawn (what a user waits)."""
    if empty:
        shutil.rmtree(store_dir(settings), ignore_errors=True)
    (children.logdir / f"{name}.log").unlink(missing_ok=True)  # this round's lines only
    spawned, spawned_wall = time.perf_counter(), time.time()
    proc = children.role(settings, "worker", timeout_s=timeout_s, name=name)
    healthy = time.perf_counter()
    meter = CpuMeter({"worker": proc.pid, "broker": broker}).start()
    ready = wait_ready(settings.worker_port, timeout_s, proc)
    cores = meter.stop()
    rss, peak = rss_kib(proc.pid)
    children.stop(proc)
    children.procs.remove(proc)
    events = log_events(children, name)
    times = timeline(events, spawned_wall, spawned_wall + (ready - spawned))
    # from the bulk restore's start (the partitions assigned, Faust's highwaters read), else from the
    # group's first rebalance (the process is up), else from /healthz: not the process's start-up,
    # nor the group's join, which waits for the broker's initial rebalance delay in an empty group
    begun = next((t for t in (times["bulk_start"], times["rebalance"]) if t is not None), healthy - spawned)
    seconds = ready - spawned - begun
    bulk = next((e for e in reversed(events) if e["event"] == "restored_in_bulk"), None)
    return {"records_per_s": rate(records, seconds), "seconds": seconds, "spawn_to_ready_s": ready - spawned,
            "records_per_s_from_spawn": rate(records, ready - spawned),
            "spawn_to_healthz_s": healthy - spawned, "peak_rss_mib": peak / MIB, "rss_at_ready_mib": rss / MIB,
            "cores": cores, "timeline_s": times,
            "bulk": {k: bulk.get(k) for k in ("records", "partitions", "seconds", "records_per_s", "complete", "fetch_s", "write_s")} if bulk else None}


def lay_changelogs(settings: Settings, children: Children, keys: int) -> dict[str, Any]:
    """`keys` orders folded by a worker until its group committed them all: its changelogs hold
    one record per order (and whatever else the folds keep), then it is stopped."""
    secret = settings.koywe_secret_list[0].get_secret_value()
    asyncio.run(ensure_topics(settings, timeout_s=30))
    records = (raw_record(b) for b in created_bodies(settings.topic_prefix, keys, secret))
    _, produce_s = asyncio.run(produce(settings.kafka_bootstrap_servers, settings.topic("raw"), records))
    started = time.perf_counter()
    worker = children.role(settings, "worker", name="fold")
    asyncio.run(wait_committed(settings, settings.topic("orders"), worker_group(settings), keys,
                               180 + keys / 500, worker, on_first=lambda: None))
    children.stop(worker)
    children.procs.remove(worker)
    return {"produce_s": produce_s, "fold_s": time.perf_counter() - started}


def run_restore(*, keys: int = 300_000, rounds: int = 3, kept: bool = True) -> BenchResult:
    """Lay `keys` orders into the changelogs, then `rounds` interleaved rounds of the empty-disk
    restore, the raw read of the same changelogs and (`kept`) the restart with the disk kept."""
    started = time.perf_counter()
    broker, broker_how = find_broker()
    with bench_run() as (settings, children, workdir):
        laid = lay_changelogs(settings, children, keys)
        changelogs = [changelog_topic(settings, p.name) for p in PROJECTIONS]
        raw = asyncio.run(raw_read_rate(settings, topics=changelogs, fetch_bytes=settings.worker_fetch_bytes))
        records = raw["events"]  # what is on the changelogs (compaction may have dropped some)
        timeout_s = 120 + records / 2000

        def raw_arm(_: int) -> dict[str, Any]:
            meter = CpuMeter({"this process": os.getpid(), "broker": broker}).start()
            out = asyncio.run(raw_read_rate(settings, topics=changelogs, fetch_bytes=settings.worker_fetch_bytes))
            return {**out, "records_per_s": out["events_per_s"], "cores": meter.stop()}

        arms: dict[str, Arm] = {
            "restore": lambda i: start_to_ready(children, settings, records, empty=True, name=f"restore-{i}",
                                                broker=broker, timeout_s=timeout_s),
            "raw": raw_arm,
        }
        if kept:
            arms["kept"] = lambda i: start_to_ready(children, settings, records, empty=False, name=f"kept-{i}",
                                                    broker=broker, timeout_s=timeout_s)
        runs = interleave(arms, rounds)

    fig_rounds = values(runs["restore"], "records_per_s")
    peaks = values(runs["restore"], "peak_rss_mib")
    first = runs["restore"][0]
    bulk_rates = ", ".join(f"{r['bulk']['records_per_s']:,}" for r in runs["restore"] if r["bulk"]) or "none"
    figure = Figure(
        bench="restore", name="worker restore on an empty disk, changelog records/s (assigned → /readyz)",
        value=median(fig_rounds), unit="records/s", rounds=fig_rounds,
        baselines=[paired_baseline("raw aiokafka read of the same changelogs, worker's fetch size", fig_rounds,
                                   values(runs["raw"], "records_per_s"))],
        target=TARGETS["restore"].text,
        note=(f"{records:,} changelog records ({keys:,} orders), {rounds} rounds; spawn → /readyz "
              f"{', '.join(f'{s:.1f}' for s in values(runs['restore'], 'spawn_to_ready_s'))} s"
              + (f", with the disk kept {', '.join(f'{s:.1f}' for s in values(runs['kept'], 'spawn_to_ready_s'))} s "
                 f"(rebalance → /readyz {median(values(runs['kept'], 'seconds')):.2f} s)" if kept else "")
              + f"; from the spawn {median(values(runs['restore'], 'records_per_s_from_spawn')):,.0f} records/s"
              + f"; the bulk restore's own {bulk_rates} records/s"
              + f"; worker cores (round 0) {first['cores']}; "
              f"broker pid {broker} ({broker_how})"),
    )
    ratio = figure.ratio(figure.baselines[0])
    figure.met = ratio is not None and ratio >= RESTORE_VS_RAW and figure.value >= RESTORE_RECORDS_S
    memory = Figure(
        bench="restore", name="worker peak RSS until /readyz, restoring on an empty disk", value=median(peaks),
        unit="MiB", rounds=peaks,
        baselines=[Baseline("the same worker restarted with its disk kept (nothing to restore), peak RSS",
                            max(values(runs["kept"], "peak_rss_mib")) if kept else None,
                            rounds=values(runs["kept"], "peak_rss_mib") if kept else [])],
        target=TARGETS["restore_memory"].text, met=max(peaks) < RESTORE_MIB,
        note=f"the rounds' peaks {', '.join(f'{v:.0f}' for v in peaks)} MiB (the target's: the largest); RSS at /readyz {', '.join(f'{v:.0f}' for v in values(runs['restore'], 'rss_at_ready_mib'))} MiB")
    return BenchResult(name="restore", figures=[figure, memory],
                       params={"keys": keys, "records": records, "rounds": rounds, "kept": kept,
                               "fetch_bytes": settings.worker_fetch_bytes},
                       detail={"rounds": runs, "laid": laid, "peak_rss_mib": max(peaks),
                               "broker": {"pid": broker, "found_by": broker_how}},
                       elapsed_s=time.perf_counter() - started)
