"""CPU µs per event of each stage of the worker's fold batch (`app.fold`), in-process.

    python -m bench.worker_stages [--events 500] [--rounds 5] [--reps 4]

Two batches of real raw records (Koywe lifecycles as bench/dataset.py signs them, enveloped as
ingest writes them): **catch-up**, whole lifecycles of ~events/4.5 orders (several events per
order, as after downtime), on empty tables; **live**, one event each of `events` different
orders whose earlier state is already in the table (parsed cold: no StateCache entry).

Each stage runs over the batch's own inputs, prepared by the stages before it outside its
timing; arms run in interleaved rounds (bench/fair.py), each `reps` times per round; a figure
is the median over rounds of process CPU ÷ events in the batch (so the rows add up to a
batch's cost per event), beside the calls per batch. The Kafka rows use the worker itself:
`build_worker` on a temp data dir (the app not started: no consumer, no agent), its producer
started on the real broker, and the tail of `app.fold` three ways (`TAILS`): Faust's own paths
(table writes under real Faust events, whose changelog records `Producer.send_soon` queues;
`flush_changelog_writes`; `send_unbuffered` per record, acks=all, linger 5 ms), with one record
per event or one projection record per key, and `BatchWrites` (RocksDB write batches and
closed aiokafka record batches, streams/kafka/seam/faust_batch_writes.py, the worker's path with
the fast paths). The acks row is CPU (aiokafka's sender: produce requests, responses, callbacks),
its wall time beside it. Topics on a fresh `bench-<hex>` prefix, deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faust.events import Event
from faust.types.tuples import Message

from bench.common import SECRET, bench_run, create_topics
from bench.dataset import count_events, lifecycle_bodies, raw_record
from bench.fair import interleave, median
from bench.machine import machine
from bench.report import BenchResult, save
from floor.kafka.names import changelog_topic
from floor.kafka.partitioning import partition_for
from floor.kafka.topics import ensure_topics
from floor.logs import configure_logging
from floor.settings import Settings
from projections.registry import PROJECTIONS, projection_for
from schemas.decoding import decode_fact
from schemas.envelope import decode_envelope, utcnow
from streams.order_index.index import OrderIndex
from streams.order_index.keeper import order_entry
from streams.kafka.seam import BatchWrites
from streams.compose.worker import build_worker
from streams.worker.batch import StateCache, TableBatch, latest_per_key
from streams.worker.handle import Worker
from streams.worker.metrics import Folded
from streams.worker.processing import process_record

Send = tuple[str, bytes, bytes, int | None]


class _Recording(StateCache):
    """A StateCache that notes each load with stored bytes as a hit or a miss (a cold parse)."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[tuple[str, str, bytes, Callable[[bytes], Any]]] = []
        self.misses: list[tuple[bytes, Callable[[bytes], Any]]] = []

    def load(self, name: str, key: str, stored: bytes | None, parse: Callable[[bytes], Any]) -> Any:
        if stored is None:
            return None
        missed: list[bytes] = []
        state = super().load(name, key, stored, lambda raw: missed.append(raw) or parse(raw))
        if missed:
            self.misses.append((stored, parse))
        else:
            self.hits.append((name, key, stored, parse))
        return state


@dataclass
class Batch:
    """One batch as the fold loop sees it, and every stage's inputs, built once, untimed."""

    name: str
    values: list[bytes]
    partitions: list[int]
    prior: dict[str, dict[str, bytes]]
    topic_names: dict[str, str]  # logical output name -> topic
    envelopes: list[Any] = field(default_factory=list)
    facts: list[Any] = field(default_factory=list)
    folds: list[tuple[Any, Any, Any]] = field(default_factory=list)  # (projection, state before, fact)
    dumps: list[Any] = field(default_factory=list)  # states the batch serialises
    recording: _Recording = field(default_factory=_Recording)
    folded: list[Folded] = field(default_factory=list)
    writes: dict[str, dict[str, tuple[bytes, int]]] = field(default_factory=dict)  # table -> key -> (value, i)
    outputs: list[Send] = field(default_factory=list)


def _fresh(prior: dict[str, dict[str, bytes]]) -> dict[str, dict[str, bytes]]:
    return {name: dict(table) for name, table in prior.items()}


def prepare(name: str, records: list[tuple[bytes, bytes]], prior: dict[str, dict[str, bytes]],
            partitions: int, topic_names: dict[str, str]) -> Batch:
    """Run the fold loop's body once over the batch (dict tables, a recording StateCache) to
    collect every stage's inputs; `topic_names` maps logical output names to topics."""
    batch = Batch(name, [v for _, v in records], [partition_for(k, partitions) for k, _ in records], prior,
                  topic_names)
    overlay: TableBatch[int] = TableBatch(_fresh(prior))
    for i, (value, partition) in enumerate(zip(batch.values, batch.partitions)):
        envelope = decode_envelope(value)
        fact = decode_fact(envelope)
        projection = projection_for(fact)
        stored = overlay.tables[projection.name].get(fact.aggregateId)
        before = projection.state_type.model_validate_json(stored) if stored is not None else None
        after, _ = projection.fold(before, fact)
        batch.envelopes.append(envelope)
        batch.facts.append(fact)
        batch.folds.append((projection, before, fact))
        if after is not before:
            batch.dumps.append(after)
        overlay.current = i
        outcome = process_record(value, overlay.tables, utcnow, partition, i, batch.recording)
        batch.outputs.extend((topic_names[o.topic], o.key, o.value, partition if o.topic in batch.prior else None)
                             for o in outcome.outputs)
        batch.folded.append(Folded(outcome, partition, i))
    for table, overlaid in overlay.tables.items():
        if overlaid.writes:
            batch.writes[table] = {key: (value, i) for key, (value, i) in overlaid.writes.items()}
    return batch


def batches(events: int, partitions: int, topic_names: dict[str, str]) -> list[Batch]:
    """The catch-up batch (whole lifecycles, empty tables) and the live one (one event each of
    `events` orders whose first event is already folded into the table)."""
    orders = 1
    while count_events(orders) < events:
        orders += 1
    catch_up = [raw_record(b) for b in lifecycle_bodies("catchup", orders, SECRET)][:events]
    live_bodies = list(lifecycle_bodies("live", events, SECRET))  # step 0 of each order, then step 1 …
    earlier, now = [raw_record(b) for b in live_bodies[:events]], [raw_record(b) for b in live_bodies[events:2 * events]]
    empty: dict[str, dict[str, bytes]] = {p.name: {} for p in PROJECTIONS}
    prior = _fresh(empty)
    for _, value in earlier:
        process_record(value, prior, utcnow)
    return [prepare("catch-up", catch_up, empty, partitions, topic_names),
            prepare("live", now, prior, partitions, topic_names)]


def pure_stages(batch: Batch, worker: Worker) -> dict[str, tuple[int, Callable[[], Any]]]:
    """{stage: (calls per batch, the batch's worth of that stage)} for the stages without I/O."""
    hits, misses, names, co_partitioned = batch.recording.hits, batch.recording.misses, batch.topic_names, set(batch.prior)
    warm = StateCache(len(hits) + 1)  # one entry per hit (a key's several states in a batch), each a hit
    hits = [(name, f"{key}#{i}", stored, parse) for i, (name, key, stored, parse) in enumerate(hits)]
    for name, key, stored, parse in hits:
        warm.keep(name, key, stored, parse(stored))
    projection_topics = {o[0] for o in batch.outputs if o[3] is not None}
    orders = [f for f in batch.folded if not f.outcome.dead and f.outcome.outputs[0].topic == "orders"]

    def overlay() -> None:
        tb: TableBatch[int] = TableBatch(batch.prior)
        for i, (projection, _, fact) in enumerate(batch.folds):
            table = tb.tables[projection.name]
            stored = table.get(fact.aggregateId)
            tb.current = i
            table[fact.aggregateId] = stored or b"{}"
        for t in tb.tables.values():
            t.writes.clear()

    def outputs() -> list[Any]:
        out: list[Send] = []
        folded = []
        for f in batch.folded:
            out.extend((names[o.topic], o.key, o.value, f.partition if o.topic in co_partitioned else None)
                       for o in f.outcome.outputs)
            folded.append(Folded(f.outcome, f.partition, f.offset))
        return out

    def whole() -> None:
        tb: TableBatch[int] = TableBatch(_fresh(batch.prior))
        cache = StateCache()
        for i, (value, partition) in enumerate(zip(batch.values, batch.partitions)):
            tb.current = i
            process_record(value, tb.tables, utcnow, partition, i, cache)

    index = OrderIndex()  # the worker's order index is one of these (streams/order_index/keeper.py)

    def console() -> None:
        for f in orders:
            state, updated = order_entry(f.outcome.outputs[0].value)
            index.put(f.outcome.aggregate_id, state, updated, f.partition)

    n = len(batch.values)
    return {
        "envelope decode (decode_envelope)": (n, lambda: [decode_envelope(v) for v in batch.values]),
        "fact decode (decode_fact)": (n, lambda: [decode_fact(e) for e in batch.envelopes]),
        "projection pick (projection_for)": (n, lambda: [projection_for(f) for f in batch.facts]),
        "fold (projection.fold)": (n, lambda: [p.fold(s, f) for p, s, f in batch.folds]),
        "state parse, cold (model_validate_json)": (len(misses), lambda: [parse(raw) for raw, parse in misses]),
        "state parse, StateCache hit": (len(hits), lambda: [warm.load(a, k, s, p) for a, k, s, p in hits]),
        "state serialise (model_dump_json)": (len(batch.dumps), lambda: [s.model_dump_json().encode() for s in batch.dumps]),
        "TableBatch overlay (get + set)": (n, overlay),
        "output tuples (+ Folded)": (n, outputs),
        "one projection record per key (latest_per_key)": (n, lambda: latest_per_key(batch.outputs, projection_topics)),
        "metrics (observe_batch)": (1, lambda: worker.metrics.observe_batch(batch.folded, time.perf_counter())),
        "console index (order_entry + put)": (len(orders), console),
        "process_record, whole (decode … serialise, overlay)": (n, whole),
    }


def faust_events(worker: Worker, batch: Batch) -> list[Event]:
    """A real Faust event per raw record: what `as_current` makes the table write under."""
    raw = worker.topics["raw"].get_topic_name()
    return [Event(worker.app, None, v, None, Message(raw, p, i, time.time(), 0, None, None, v, None))
            for i, (v, p) in enumerate(zip(batch.values, batch.partitions))]


#: The Kafka arms: (name, one projection record per key per batch, `BatchWrites` direct).
TAILS = (("faust, one per event", False, False), ("faust, one per key", True, False),
         ("direct, one per key", True, True))


async def batch_tail(worker: Worker, batch: Batch, events: list[Event], dedupe: bool,
                     direct: bool) -> dict[str, float]:
    """The fold loop after its per-event part, timed in segments (process CPU, s): the table
    writes collected (`BatchWrites.put`), then their delivery (RocksDB, changelog records and
    their acks, then the records to publish and theirs: `BatchWrites.deliver`) (+ its wall time)."""
    app, tables = worker.app, worker.tables
    topics = {o[0] for o in batch.outputs if o[3] is not None}
    clock = time.process_time
    writes = BatchWrites(app, direct=direct)
    t0 = clock()
    for name, written in batch.writes.items():
        table = tables[name]
        for key, (value, i) in written.items():
            writes.put(table, key, value, events[i])
    t1 = clock()
    outputs = latest_per_key(batch.outputs, topics) if dedupe else batch.outputs
    for topic, key, value, partition in outputs:
        writes.record(topic, key, value, partition)
    t2, w2 = clock(), time.perf_counter()
    await writes.deliver()
    # `deliver` hands over and awaits the acks in one call: its CPU is "hand-over", acks are in it
    return {"table write": t1 - t0, "hand-over": clock() - t2, "acks": 0.0,
            "acks wall": time.perf_counter() - w2, "records": len(outputs)}


async def _setup(settings: Settings) -> Worker:
    await ensure_topics(settings, timeout_s=30)
    await create_topics(settings.kafka_bootstrap_servers, [changelog_topic(settings, p.name) for p in PROJECTIONS],
                        settings.partitions)
    worker = build_worker(settings).worker
    await worker.app.producer.start()
    return worker


def run(events: int = 500, rounds: int = 5, reps: int = 4) -> dict[str, Any]:
    """{batch: {stage: {"calls": n, "us_per_event": median µs, ...}}}, plus the send counts."""
    configure_logging("worker", "info", stream=io.StringIO(), log_format="json")  # the worker's info lines
    loop = asyncio.new_event_loop()
    with bench_run() as (settings, _, _workdir):
        worker = loop.run_until_complete(_setup(settings))
        try:
            names = {n: t.get_topic_name() for n, t in worker.topics.items()}
            made = batches(events, settings.partitions, names)
            arms: dict[str, Callable[[int], dict[str, Any]]] = {}
            calls: dict[tuple[str, str], int] = {}
            for b in made:
                for stage, (n, work) in pure_stages(b, worker).items():
                    calls[(b.name, stage)] = n
                    arms[f"{b.name}|{stage}"] = _timed(work, reps, len(b.values))
                fe = faust_events(worker, b)
                for mode, dedupe, direct in TAILS:
                    arms[f"{b.name}|kafka|{mode}"] = _timed_tail(loop, worker, b, fe, dedupe, direct, reps)
            for _, dedupe, direct in TAILS:  # warm-up
                loop.run_until_complete(batch_tail(worker, made[0], faust_events(worker, made[0]), dedupe, direct))
            runs = interleave(arms, rounds)
        finally:
            loop.run_until_complete(worker.app.producer.stop())
    loop.close()
    return _summary(made, runs, calls)


def _timed(work: Callable[[], Any], reps: int, n: int) -> Callable[[int], dict[str, Any]]:
    def arm(_: int) -> dict[str, Any]:
        start = time.process_time()
        for _ in range(reps):
            work()
        return {"us": (time.process_time() - start) / reps / n * 1e6}
    return arm


def _timed_tail(loop: asyncio.AbstractEventLoop, worker: Worker, batch: Batch, events: list[Event], dedupe: bool,
                direct: bool, reps: int) -> Callable[[int], dict[str, Any]]:
    def arm(_: int) -> dict[str, Any]:
        total: dict[str, float] = {}
        for _ in range(reps):
            for k, v in loop.run_until_complete(batch_tail(worker, batch, events, dedupe, direct)).items():
                total[k] = total.get(k, 0.0) + v
        n = len(batch.values)
        return {k: (v / reps if k == "records" else v / reps * 1e3 if k == "acks wall" else v / reps / n * 1e6)
                for k, v in total.items()}
    return arm


def _summary(made: list[Batch], runs: dict[str, list[dict[str, Any]]], calls: dict[tuple[str, str], int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for b in made:
        rows: dict[str, Any] = {}
        for (name, stage), n in calls.items():
            if name == b.name:
                rows[stage] = {"calls": n, "us_per_event": round(median([r["us"] for r in runs[f"{name}|{stage}"]]), 2)}
        for mode, _, _ in TAILS:
            rs = runs[f"{b.name}|kafka|{mode}"]
            rows[f"kafka|{mode}"] = {k: round(median([r[k] for r in rs]), 2) for k in rs[0] if k != "round"}
        out[b.name] = {"events": len(b.values), "orders": len({f.aggregateId for f in b.facts}),
                       "table_writes": sum(len(w) for w in b.writes.values()), "stages": rows, "rounds": {
                           k.partition("|")[2]: v for k, v in runs.items() if k.startswith(b.name + "|")}}
    return out


def print_table(result: dict[str, Any], info: dict[str, Any], rounds: int, reps: int) -> None:
    names = list(result)
    print(f"CPU: {info['cpu']} ({info['cores']} cores), Python {info['python']}; {rounds} interleaved rounds × "
          f"{reps} reps, median process CPU µs per event of the batch (stage total ÷ events)")
    print("batches: " + "; ".join(f"{n}: {r['events']} events, {r['orders']} orders, {r['table_writes']} table writes"
                                   for n, r in result.items()))
    print("| stage | " + " | ".join(f"{n}: calls | {n}: µs/event" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    first = result[names[0]]["stages"]
    for stage in (s for s in first if not s.startswith("kafka|")):
        cells = [f"{result[n]['stages'][stage]['calls']} | {result[n]['stages'][stage]['us_per_event']:.2f}" for n in names]
        print(f"| {stage} | " + " | ".join(cells) + " |")
    for mode, _, _ in TAILS:
        for seg in ("table write", "hand-over", "acks"):
            cells = [f"{result[n]['stages'][f'kafka|{mode}']['records']:.0f} rec | "
                     f"{result[n]['stages'][f'kafka|{mode}'][seg]:.2f}" for n in names]
            print(f"| Kafka, {mode}: {seg} | " + " | ".join(cells) + " |")
        cells = [f"| {result[n]['stages'][f'kafka|{mode}']['acks wall']:.1f} ms" for n in names]
        print(f"| Kafka, {mode}: acks, wall per batch | " + " ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_stages", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500, help="raw records per batch (the worker's default: 500)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=4, help="times each arm runs its batch per round")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.events, args.rounds, args.reps)
    info = machine()
    print_table(result, info, args.rounds, args.reps)
    path = save("worker-stages", [BenchResult(
        name="worker-stages", figures=[], params={"events": args.events, "rounds": args.rounds, "reps": args.reps},
        detail=result, elapsed_s=time.perf_counter() - started)], latest=False)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
