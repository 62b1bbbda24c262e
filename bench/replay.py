"""Replay/rebuild: events/s folding the raw topic from Kafka into projections, beside a raw reader.

Figure: `streams.replay.replay.replay_topic` (the batch replay straight from aiokafka, its partitions
folded in worker processes, one per core by default) over a fresh raw topic; if that module is
absent, `projections.replay.fold_into` fed by this module's own aiokafka batch reader.
Baselines: a raw aiokafka consumer (same fetch sizes) reading the same topic to its end and
touching every record's value, nothing decoded; and the same replay in one process
(`processes=1`), which shows what the worker processes add.
Targets: >= 0.7 x baseline and >= 100k events/s.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import CpuMeter, bench_run, broker_pid, produce, rate
from bench.dataset import lifecycle_bodies, raw_record
from bench.report import Baseline, BenchResult, Figure
from ingest.topics import ensure_topics
from projections.replay import Rebuilt, fold_into
from schemas.settings import Settings

FETCH_BYTES = 1 << 20  # streams.replay.fold's per-partition fetch size


def _consumer(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            fetch_max_bytes=4 * FETCH_BYTES, max_partition_fetch_bytes=FETCH_BYTES)


async def read_batches(settings: Settings, on_batch: Any) -> int:
    """Read the raw topic from its beginning to its end now, calling `on_batch(records)`."""
    consumer = _consumer(settings)
    await consumer.start()
    try:
        topic = settings.topic("raw")
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
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


async def raw_read_rate(settings: Settings) -> dict[str, Any]:
    """Baseline: every record fetched and its value touched, nothing decoded."""
    size = 0

    def touch(records: list[Any]) -> None:
        nonlocal size
        for record in records:
            size += len(record.value)

    started = time.perf_counter()
    count = await read_batches(settings, touch)
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
    started = time.perf_counter()
    replayed = await replay_topic(settings, processes=processes)
    seconds = time.perf_counter() - started
    orders = sum(len(s.states.get("orders", {})) for s in replayed.shards.values())
    return {"impl": f"streams.replay.replay.replay_topic(processes={processes or 'default'})", "events": replayed.events,
            "seconds": seconds, "events_per_s": rate(replayed.events, seconds), "orders": orders}


def run_replay(*, orders: int = 30_000, profile: bool = True) -> BenchResult:
    """Lay down `orders` lifecycles (~4.5 events each), read them raw, then replay them."""
    started = time.perf_counter()
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        records = [raw_record(b) for b in lifecycle_bodies(settings.topic_prefix, orders, secret)]
        asyncio.run(ensure_topics(settings, timeout_s=30))
        asyncio.run(produce(settings.kafka_bootstrap_servers, settings.topic("raw"), records))
        del records
        raw = asyncio.run(raw_read_rate(settings))
        meter = CpuMeter({"replay (this process)": os.getpid(), "broker": broker_pid()}).start()
        figure_run = asyncio.run(streams_replay_rate(settings)) or asyncio.run(own_replay_rate(settings))
        figure_run["cores"] = meter.stop()  # worker processes show in "machine busy"
        meter.start()
        one = asyncio.run(streams_replay_rate(settings, processes=1))
        if one is not None:
            one["cores"] = meter.stop()
        prof = None
        if profile:
            prof = _profiled(settings, figure_run["impl"])

    value, base = figure_run["events_per_s"], raw["events_per_s"]
    figure = Figure(
        bench="replay", name="replay/rebuild events/s", value=value, unit="ev/s",
        baselines=[Baseline("raw aiokafka consumer, same topic", base),
                   *([Baseline("same replay in one process (processes=1)", one["events_per_s"])] if one else [])],
        target="≥ 0.7 × baseline, ≥ 100k ev/s", met=value >= 0.7 * base and value >= 100_000,
        note=f"{figure_run['impl']}, {figure_run['events']} events ({orders} orders); cores used {figure_run['cores']}",
    )
    return BenchResult(name="replay", figures=[figure], params={"orders": orders, "events": raw["events"]},
                       detail={"raw": raw, "replay": figure_run, "replay_one_process": one, "profile": prof},
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
