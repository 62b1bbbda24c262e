"""Fold a replay's raw partitions in worker processes, one group of partitions per process.

Why: the fold is pure-Python CPU (pydantic models per event), so one process folds at one
core's speed however fast Kafka delivers. Ingest keys raw records by aggregate id, so partitions
fold independently: each worker process reads its own partitions with aiokafka and runs the very
same `streams.replay.fold.fold_batches`, so its states are those a single process would have made.

States come back as JSON `Change`s, exactly the record values the worker writes: pickling
pydantic objects between processes costs more than folding them, and JSON is what sinks and
comparisons use anyway. The parent merges them into `LazyTable`s and does every write, so a
checkpoint keeps its rule: a partition's manifest offset moves only after the states folded up to
it are durable. Workers start from a forkserver (never a fork of this process, which may hold
threads and a running event loop), preloaded with this module.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import pickle
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from floor.settings import Settings
from projections.replay import DeadLetter, Rebuilt
from streams.kafka.seam import stop_consumer
from streams.replay.fold import consumer_for, fewer_collections, fold_batches, started
from streams.replay.model import Change, Checkpoint, Progress, Replayed, ReplayError

PROGRESS_EVERY_S = 0.2
JOIN_S = 5.0


@dataclass(frozen=True)
class Job:
    """One worker process's share: its partitions' slice of the log and the states to start from."""

    cluster: Settings
    topic: str
    start: dict[int, int]
    end: dict[int, int]
    positions: dict[int, int]
    seed: list[Change]
    every_s: float  # between shipments of changes; inf: once, at the end
    fetch_bytes: int
    history_limit: int  # the shards' (HOOKLOG_HISTORY_LIMIT), as the live worker bounds histories


@dataclass(frozen=True)
class Shipment:
    """What a worker folded since its last shipment, and the offsets it is complete up to."""

    changes: list[Change]
    positions: dict[int, int]
    dead_letters: list[tuple[int, DeadLetter]]
    undecodable: list[tuple[int, int, str]]


def default_processes(partitions: int) -> int:
    """One worker process per core this process may run on, at most one per partition."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(partitions, cores))


def partition_groups(remaining: dict[int, int], processes: int | None) -> list[list[int]]:
    """Partitions with records left, in at most `processes` (None: `default_processes`) groups of
    about equal record counts (largest first into the lightest group)."""
    processes = processes or default_processes(len(remaining))
    groups: list[list[int]] = [[] for _ in range(max(1, min(processes, len(remaining))))]
    loads = [0] * len(groups)
    for partition, count in sorted(remaining.items(), key=lambda item: (-item[1], item[0])):
        lightest = loads.index(min(loads))
        groups[lightest].append(partition)
        loads[lightest] += count
    return [sorted(group) for group in groups if group]


def _context() -> BaseContext:
    """A forkserver that has imported, once, this module and the program's main module: a worker
    started from it imports nothing (multiprocessing would otherwise run the main module, e.g.
    the whole `hooklog` CLI, again in every worker)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    main_module = [spec.name] if spec is not None and not spec.name.endswith("__main__") else []
    context.set_forkserver_preload(["__main__", __name__, *main_module])  # "__main__": a script's path
    return context


def _worker(job: Job, conn: Connection) -> None:
    """A worker process's body: fold, ship, and report any failure instead of dying silently."""
    try:
        asyncio.run(_fold_job(job, conn))
        conn.send(("done", None))
    except BaseException as exc:  # noqa: BLE001 - the parent raises it
        exc.add_note(f"in replay worker process {multiprocessing.current_process().name}:\n{traceback.format_exc()}")
        conn.send(("error", _portable(exc)))
    finally:
        conn.close()


def _portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling both ways (the parent raises it), else a ReplayError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - e.g. an exception class whose __init__ wants other arguments
        return ReplayError(f"{type(exc).__name__}: {exc}\n{''.join(getattr(exc, '__notes__', []))}")
    return exc


async def _fold_job(job: Job, conn: Connection) -> None:
    shards = {p: Rebuilt(history_limit=job.history_limit) for p in job.start}
    replayed = Replayed(job.topic, dict(job.start), dict(job.end), dict(job.positions), shards)
    replayed.put_changes(job.seed)
    replayed.dirty = {p: set() for p in shards}
    replayed.alerts_taken = {p: len(s.alerts) for p, s in shards.items()}
    dead_taken, undecodable_taken, last_progress = dict.fromkeys(shards, 0), 0, 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_progress
        if (now := time.monotonic()) - last_progress >= PROGRESS_EVERY_S:
            conn.send(("progress", dict(replayed.positions)))
            last_progress = now

    async def ship(folded: Replayed) -> None:
        nonlocal undecodable_taken
        dead = [(p, d) for p, s in folded.shards.items() for d in s.dead_letters[dead_taken[p]:]]
        dead_taken.update({p: len(s.dead_letters) for p, s in folded.shards.items()})
        undecodable, undecodable_taken = folded.undecodable[undecodable_taken:], len(folded.undecodable)
        conn.send(("shipment", Shipment(folded.take_changes(), dict(folded.positions), dead, undecodable)))

    consumer = await started(consumer_for(job.cluster, job.fetch_bytes), job.cluster)
    try:
        with fewer_collections():
            await fold_batches(consumer, replayed, progress, ship, job.every_s)
    finally:
        await stop_consumer(consumer)


def _absorb(replayed: Replayed, shipment: Shipment) -> None:
    replayed.put_changes(shipment.changes)
    for partition, letter in shipment.dead_letters:
        replayed.shards[partition].dead_letters.append(letter)
    replayed.undecodable.extend(shipment.undecodable)
    replayed.positions.update(shipment.positions)


async def fold_in_processes(cluster: Settings, replayed: Replayed, groups: list[list[int]], *,
                            on_progress: Progress | None, checkpoint: Checkpoint | None, every_s: float,
                            fetch_bytes: int) -> None:
    """Fold each group of `replayed`'s partitions in a worker process of its own, merging into
    `replayed`; `checkpoint(replayed)` runs after each shipment (workers ship every `every_s`)."""
    context, loop = _context(), asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[int, str, Any]] = asyncio.Queue()
    workers: list[tuple[BaseProcess, Connection]] = []

    def receive(index: int, conn: Connection) -> None:
        try:
            kind, body = conn.recv()
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            kind, body = "eof", None
        except Exception as exc:  # noqa: BLE001 - e.g. a truncated message: fail the replay, never hang it
            loop.remove_reader(conn.fileno())
            kind, body = "error", ReplayError(f"unreadable message from replay worker process {index}: {exc!r}")
        inbox.put_nowait((index, kind, body))

    try:
        for index, group in enumerate(groups):
            job = Job(cluster, replayed.topic, {p: replayed.start[p] for p in group}, {p: replayed.end[p] for p in group},
                      {p: replayed.positions[p] for p in group}, [c for p in group for c in replayed.shard_changes(p)],
                      every_s if checkpoint is not None else math.inf, fetch_bytes,
                      next(iter(replayed.shards.values())).history_limit)
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(target=_worker, args=(job, writer), name=f"hooklog-replay-{index}", daemon=True)
            process.start()
            writer.close()
            workers.append((process, reader))
            loop.add_reader(reader.fileno(), receive, index, reader)
        reported, running = dict(replayed.positions), set(range(len(workers)))
        with fewer_collections():  # shipments unpickle into many small objects that all live on
            while running:
                index, kind, body = await inbox.get()
                if kind == "progress":
                    reported.update(body)
                elif kind == "shipment":
                    _absorb(replayed, body)
                    reported.update(body.positions)
                    if checkpoint is not None:
                        await checkpoint(replayed)
                elif kind == "done":
                    running.discard(index)
                elif kind == "error":
                    raise body
                elif index in running:  # "eof" before "done": the process died
                    process = workers[index][0]
                    process.join(JOIN_S)
                    raise ReplayError(f"replay worker process {process.name} (partitions {groups[index]}) exited with "
                                      f"code {process.exitcode} before finishing; run again (with --resume when writing)")
                if on_progress:
                    on_progress(sum(reported[p] - replayed.start[p] for p in replayed.end), replayed.total)
    finally:
        for process, reader in workers:
            loop.remove_reader(reader.fileno())
            reader.close()
            if process.is_alive():
                process.terminate()
            process.join(JOIN_S)
