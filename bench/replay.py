"""Replay/rebuild: events/s folding the raw topic from Kafka into projections, beside a raw reader.

Figure: `streams.replay.replay.replay_topic` (the batch replay straight from aiokafka, its partitions
folded in worker processes, one per core by default) over a fresh raw topic; if that module is
absent, `projections.replay.fold_into` fed by this module's own aiokafka batch reader.
Baselines: a raw aiokafka consumer (same fetch sizes) reading the same topic to its end and
touching every record's value, nothing decoded; and the same replay in one process
(`processes=1`), which shows what the worker processes add.
The three run in interleaved rounds (bench/fair.py): medians, and medians of per-round ratios.
Targets: >= 0.7 x baseline and >= 100k events/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import REPO, CpuMeter, bench_run, produce, rate, settings_env
from bench.dataset import lifecycle_bodies, raw_record
from bench.fair import Arm, interleave, median, values
from bench.machine import find_broker
from bench.report import BenchResult, Figure, paired_baseline
from bench.targets import REPLAY_EVENTS_S, REPLAY_VS_RAW, TARGETS
from floor.kafka import clients
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from projections.replay import Rebuilt, fold_into

FETCH_BYTES = 1 << 20  # streams.replay.fold's per-partition fetch size


def _consumer(settings: Settings, fetch_bytes: int = FETCH_BYTES) -> AIOKafkaConsumer:
    return clients.consumer(settings, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                            fetch_max_bytes=4 * fetch_bytes, max_partition_fetch_bytes=fetch_bytes)


async def read_batches(settings: Settings, on_batch: Any, *, topics: list[str] | None = None,
                       fetch_bytes: int = FETCH_BYTES) -> int:
    """Read `topics` (the raw topic by default) from their beginning to their end now, calling
    `on_batch(records)`; the count of records read. Also bench/restore.py's raw read."""
    consumer = _consumer(settings, fetch_bytes)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for topic in topics or [settings.topic("raw")] for p in range(settings.partitions)]
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        start = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, start[tp])
        pending, count = {tp for tp in tps if start[tp] < end[tp]}, 0
        while pending:
            for tp, records in (await consumer.getmany(*pending, timeout_ms=1000)).items():
                kept = [r for r in records if r.offset < end[tp]]
                on_batch(kept)
                count += len(kept)
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
        return count
    finally:
        await consumer.stop()


async def raw_read_rate(settings: Settings, *, topics: list[str] | None = None,
                        fetch_bytes: int = FETCH_BYTES) -> dict[str, Any]:
    """Baseline: every record fetched and its value touched, nothing decoded."""
    size = 0

    def touch(records: list[Any]) -> None:
        nonlocal size
        for record in records:
            size += len(record.value) if record.value is not None else 0

    started = time.perf_counter()
    count = await read_batches(settings, touch, topics=topics, fetch_bytes=fetch_bytes)
    seconds = time.perf_counter() - started
    return {"events": count, "seconds": seconds, "events_per_s": rate(count, seconds), "bytes": size}


async def own_replay_rate(settings: Settings) -> dict[str, Any]:
    """Fallback figure: projections.replay's fold fed by `read_batches`."""
    rebuilt = Rebuilt()

    def fold(records: list[Any]) -> None:
        fold_into(rebuilt, records)

    started = time.perf_counter()
    count = await read_batches(settings, fold)
    seconds = time.perf_counter() - started
    return {"impl": "projections.replay.fold_into + bench reader", "events": count, "seconds": seconds,
            "events_per_s": rate(count, seconds), "orders": len(rebuilt.states.get("orders", {}))}


async def streams_replay_rate(settings: Settings, processes: int | None = None) -> dict[str, Any] | None:
    """The figure: `streams.replay.replay.replay_topic` (in-memory fold, no sink), or None if absent.
    `processes` None is replay's default (worker processes for a log this size)."""
    try:
        from streams.replay.replay import replay_topic
    except ImportError:
        return None
    started, cpu = time.perf_counter(), time.process_time()
    replayed = await replay_topic(settings, processes=processes)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    orders = sum(len(s.states.get("orders", {})) for s in replayed.shards.values())
    return {"impl": f"streams.replay.replay.replay_topic(processes={processes or 'default'})", "events": replayed.events,
            "seconds": seconds, "events_per_s": rate(replayed.events, seconds), "orders": orders,
            # this process's CPU: the whole fold with processes=1 (worker processes are not counted)
            "cpu_us_per_event": 1e6 * cpu / max(replayed.events, 1)}


def tree_replay_rate(settings: Settings, tree: Path) -> dict[str, Any]:
    """`--compare`: source tree `tree`'s replay in one process, as a child (bench/replay_tree.py)."""
    env = {**settings_env(settings), "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, str(REPO / "bench" / "replay_tree.py"), "1"], cwd=tree, env=env,
                         capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(f"replay from {tree} failed:\n{out.stderr[-3000:]}")
    return {"impl": f"replay_topic(processes=1) from {tree}", **json.loads(out.stdout.strip().splitlines()[-1])}


def run_replay(*, orders: int = 30_000, profile: bool = True, rounds: int = 3,
               compare: dict[str, Path] | None = None) -> BenchResult:
    """Lay down `orders` lifecycles (~4.5 events each), then in `rounds` interleaved rounds read
    them raw, replay them, and replay them in one process (bench/fair.py). `compare` NAME=tree:
    that tree's replay and this one's, each in one process run as a child the same way
    (`tree_replay_rate`), in the same rounds: a before/after."""
    started = time.perf_counter()
    broker, broker_how = find_broker()
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        records = [raw_record(b) for b in lifecycle_bodies(settings.topic_prefix, orders, secret)]
        asyncio.run(ensure_topics(settings, timeout_s=30))
        asyncio.run(produce(settings.kafka_bootstrap_servers, settings.topic("raw"), records))
        del records
        has_streams = asyncio.run(streams_replay_rate(settings, processes=1)) is not None  # also a warm-up

        def metered(run: Any) -> Arm:
            def arm(_: int) -> dict[str, Any]:
                meter = CpuMeter({"this process": os.getpid(), "broker": broker}).start()
                out = asyncio.run(run())
                out["cores"] = meter.stop()  # worker processes show in "machine busy"
                return out
            return arm

        arms: dict[str, Arm] = {
            "replay": metered(lambda: streams_replay_rate(settings) if has_streams else own_replay_rate(settings)),
            "raw": metered(lambda: raw_read_rate(settings)),
        }
        if has_streams:
            arms["one_process"] = metered(lambda: streams_replay_rate(settings, processes=1))
        if compare:
            arms["this_tree_child"] = lambda _: tree_replay_rate(settings, REPO)
            arms.update({name: (lambda _, tree=tree: tree_replay_rate(settings, tree)) for name, tree in compare.items()})
        runs = interleave(arms, rounds)
        prof = _profiled(settings, runs["replay"][0]["impl"]) if profile else None

    fig_rounds = values(runs["replay"], "events_per_s")
    first = runs["replay"][0]
    figure = Figure(
        bench="replay", name="replay/rebuild events/s", value=median(fig_rounds), unit="ev/s", rounds=fig_rounds,
        baselines=[paired_baseline("raw aiokafka consumer, same topic", fig_rounds, values(runs["raw"], "events_per_s")),
                   *([paired_baseline("same replay in one process (processes=1)", fig_rounds,
                                      values(runs["one_process"], "events_per_s"))] if has_streams else []),
                   *[paired_baseline(f"{name} ({tree.name}) in one process, run as a child",
                                     fig_rounds, values(runs[name], "events_per_s"),
                                     note=(f"{median(values(runs[name], 'cpu_us_per_event')):.1f} µs CPU/event; this tree "
                                           f"run the same way: {median(values(runs['this_tree_child'], 'events_per_s')):,.0f} "
                                           f"ev/s, {median(values(runs['this_tree_child'], 'cpu_us_per_event')):.1f} µs CPU/event"))
                     for name, tree in (compare or {}).items()]],
        target=TARGETS["replay"].text,
        note=(f"{first['impl']}, {first['events']} events ({orders} orders), {rounds} rounds; "
              + (f"one process: {median(values(runs['one_process'], 'cpu_us_per_event')):.1f} µs CPU per event "
                 "(median; load-robust where rates are not); " if has_streams else "")
              + f"cores used (round 0) "
              f"{first['cores']}; broker pid {broker} ({broker_how})"),
    )
    ratio = figure.ratio(figure.baselines[0])
    figure.met = ratio is not None and ratio >= REPLAY_VS_RAW and figure.value >= REPLAY_EVENTS_S
    return BenchResult(name="replay", figures=[figure],
                       params={"orders": orders, "events": first["events"], "rounds": rounds,
                               "compare": {name: str(tree) for name, tree in (compare or {}).items()}},
                       detail={"rounds": runs, "raw": runs["raw"][-1], "replay": first,
                               "broker": {"pid": broker, "found_by": broker_how}, "profile": prof},
                       elapsed_s=time.perf_counter() - started)


def _profiled(settings: Settings, impl: str) -> str | None:
    """A second replay under pyinstrument (its overhead kept out of the figure), in one process:
    worker processes run the same fold, and a profile of the parent would show it waiting."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    from bench.profiling import relative, save_profile

    profiler = Profiler(interval=0.001, async_mode="enabled")
    profiler.start()
    if impl.startswith("streams.replay"):
        asyncio.run(streams_replay_rate(settings, processes=1))
    else:
        asyncio.run(own_replay_rate(settings))
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
    return relative(save_profile("replay", f"# {impl} under pyinstrument\n" + text))
