"""`hooklog replay`: fold the raw log into a new projection generation, fast and resumably.

Why not the worker's path: Faust pays its per-event machinery and the worker round-trips every
state through JSON (its tables hold bytes). Replay reads aiokafka batches straight into
`projections.replay.fold_into` (the worker's fold step, `projections.driver.fold_record`),
keeps states as objects and serialises each state once per flush. No consumer group, no
commit, no write to the worker's topics: replay never disturbs it.

Ingest keys raw records by aggregate id, so partitions fold independently: a large replay folds
groups of partitions in worker processes (`streams.replay.pool`), each running
`streams.replay.fold.fold_batches`, and merges their states as JSON. Generations (their manifests, sinks, resuming
and pruning) are in `streams.replay.generation` and `streams.replay.sinks`.
"""

from __future__ import annotations

import time

from floor.settings import Settings
from streams.kafka.seam import stop_consumer
from streams.replay.fold import FETCH_BYTES, consumer_for, fewer_collections, fold_batches, plan, started
from streams.replay.model import Bound, Checkpoint, Progress, Replayed
from streams.replay.pool import fold_in_processes, partition_groups

#: Below this many records to fold, `processes=None` folds in this process: starting worker
#: processes and shipping states back as JSON costs about as much as folding this many.
PARALLEL_MIN_RECORDS = 20_000


async def replay_topic(
    settings: Settings, *, since: Bound = None, until: Bound = None, on_progress: Progress | None = None,
    previous: Replayed | None = None, extend: bool = False, checkpoint: Checkpoint | None = None,
    checkpoint_every_s: float = 5.0, fetch_bytes: int = FETCH_BYTES, partitions: set[int] | None = None,
    processes: int | None = None,
) -> Replayed:
    """Fold `settings`' raw topic from `since` (default: the beginning) to `until` (default: its
    end now), or continue `previous` up to its end (`extend`: up to `until` / the end now).

    `on_progress(done, total)` runs after fetched batches; `checkpoint(replayed)` every
    `checkpoint_every_s` and once at the end, with `replayed.take_changes()` ready to write.
    `partitions` restricts a new replay to some raw partitions (aggregates never span two).
    `processes`: worker processes folding groups of partitions; None: one per core (at most one
    per partition), or this process alone when fewer than PARALLEL_MIN_RECORDS records are left;
    1 folds here.
    """
    began = time.monotonic()
    consumer = await started(consumer_for(settings, fetch_bytes), settings)
    try:
        replayed = await plan(consumer, settings.topic("raw"), since, until, previous, extend, partitions,
                              cluster=settings, history_limit=settings.history_limit)
        if checkpoint is not None and replayed.dirty is None:
            replayed.dirty = {p: set() for p in replayed.shards}
        remaining = replayed.remaining
        small = processes is None and sum(remaining.values()) < PARALLEL_MIN_RECORDS
        groups = partition_groups(remaining, 1 if small else processes)
        if len(groups) <= 1:
            with fewer_collections():
                await fold_batches(consumer, replayed, on_progress, checkpoint, checkpoint_every_s)
    finally:
        await stop_consumer(consumer)
    if len(groups) > 1:
        await fold_in_processes(settings, replayed, groups, on_progress=on_progress, checkpoint=checkpoint,
                                every_s=checkpoint_every_s, fetch_bytes=fetch_bytes)
    replayed.elapsed_s += time.monotonic() - began
    return replayed
