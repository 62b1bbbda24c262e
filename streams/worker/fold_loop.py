"""The worker's fold loop: raw batches into the tables, their changelogs and the projection topics.

A batch is acked (made committable) only once every part of it landed: its states in RocksDB,
their changelog records and then the published records acknowledged by the broker
(`streams/kafka/seam/faust_batches.take_acked`; Faust's own `take_events` acks a batch that
raised). A failure inside a batch never lets its offsets reach a commit:
- a transient one (a broker away, a send timed out, a store write refused) is retried with
  exponential backoff for up to `HOOKLOG_FOLD_RETRY_S`, the same batch with the same writes,
  while `/readyz` says `failing` and `hooklog_worker_failed_batches_total` counts the attempts;
- one that will not pass (a record the broker refuses as too large, no authorisation, a moved
  private part, a RocksDB write refused: the store takes no writes until reopened), or a transient one past its budget, stops the worker with exit code
  `EXIT_BATCH_FAILED` and a line naming the partitions, offsets and cause. Its partitions go to
  another worker, or to this one restarted (`hooklog up` restarts it), which folds the batch again.
An event that its fold refuses is not a failure of the batch: it is dead-lettered with the reason
(`projections.driver.fold_record`) and its partition goes on.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka.errors import (
    ClusterAuthorizationFailedError, InvalidTopicError, MessageSizeTooLargeError, RecordListTooLargeError,
    TopicAuthorizationFailedError, UnsupportedVersionError,
)

from floor.logs import get_logger
from floor.settings import Settings
from schemas.envelope import utcnow
from schemas.errors import HooklogError
from streams.kafka.seam import BatchWrites, SeamBrokenError, StoreWriteError, read_in_partition, take_acked
from streams.worker.batch import StateCache, TableBatch, latest_per_key
from streams.worker.health import FoldHealth, where
from streams.worker.metrics import Folded, WorkerMetrics
from streams.worker.positions import FoldedPositions
from streams.worker.processing import process_record
from streams.worker.waiters import FoldWaiters

log = get_logger("worker")

#: The worker's exit code when a batch could not be folded (a supervisor restarts it).
EXIT_BATCH_FAILED = 75

#: Failures no retry can mend: the worker stops at once and says why.
PERMANENT: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError, RecordListTooLargeError, InvalidTopicError, TopicAuthorizationFailedError,
    ClusterAuthorizationFailedError, UnsupportedVersionError, SeamBrokenError, StoreWriteError,
)

#: The first retry's wait, and the longest (each doubles, with jitter).
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.2, 10.0


class BatchFailedError(HooklogError):
    """A batch of the raw log could not be folded; nothing of it was committed."""

    @classmethod
    def of(cls, events: Sequence[Any], cause: BaseException, attempts: int) -> BatchFailedError:
        return cls(f"could not fold the batch at {where(offset_ranges(events))} after {attempts} attempt(s): "
                   f"{type(cause).__name__}: {cause}. Nothing of it was committed; the worker stops so "
                   "that it (restarted) or another worker folds it again. Fix the cause (see "
                   "docs/replay-and-recovery.md, \"A batch that cannot be folded\").")


def offset_ranges(events: Sequence[Any]) -> dict[int, tuple[int, int]]:
    """partition -> (first, last) offset of the batch's events."""
    ranges: dict[int, tuple[int, int]] = {}
    for event in events:
        message = event.message
        lo, hi = ranges.get(message.partition, (message.offset, message.offset))
        ranges[message.partition] = (min(lo, message.offset), max(hi, message.offset))
    return ranges


def backoff_s(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """The wait before retry `attempt` (1, 2, …): doubling from BACKOFF_FIRST_S up to
    BACKOFF_MAX_S, with up to half of it as jitter."""
    base = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1))
    return base * (0.5 + rng() / 2)


def stop_process(app: Any, failure: BatchFailedError, code: int = EXIT_BATCH_FAILED) -> None:
    """End the process with `code` at once, as a crash would: nothing more is committed (Faust's
    graceful stop would wait for the failed batch's events to be acked, for ever), the group
    hands the partitions on within the session timeout, a restarted worker with the same
    HOOKLOG_WORKER_ID at once. Acked batches are in RocksDB's WAL and on the broker already."""
    log.error("worker_exits", code=code, reason=str(failure))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class FoldObserver(Protocol):
    """What watches the fold's outcomes besides the metrics and the waiters (the composition root
    hands in the orders-by-state index, streams/order_index/keeper.py): told of every batch once it landed."""

    def observe(self, folded: Sequence[Folded]) -> None: ...


@dataclass
class FoldLoop:
    """The fold agent's body, with what it folds into and whom it tells."""

    app: Any
    settings: Settings
    tables: Mapping[str, Any]
    topic_names: Mapping[str, str]  # logical name -> topic
    co_partitioned: frozenset[str]  # logical names of the projection topics
    metrics: WorkerMetrics
    waiters: FoldWaiters
    health: FoldHealth
    observer: FoldObserver  # what else watches outcomes (the orders-by-state index)
    direct: bool = True  # BatchWrites straight to RocksDB and aiokafka (the seam's fast paths)
    exit: Callable[[Any, BatchFailedError], None] = stop_process
    positions: FoldedPositions | None = None  # how far each partition folded (streams/worker/positions.py)

    def __post_init__(self) -> None:
        self.states = StateCache(self.settings.fold_cache_states)
        self.projection_topics = frozenset(self.topic_names[name] for name in self.co_partitioned)

    async def run(self, stream: Any) -> None:
        """The agent: batch after batch, each acked only when `fold_batch` returned."""
        events: Sequence[Any] = ()
        try:
            async for events in take_acked(stream, self.settings.fold_batch_max, self.settings.fold_batch_within):
                await self.fold_batch(events)
        except asyncio.CancelledError:
            raise
        except BatchFailedError as failure:
            self.fail(failure)
        except Exception as exc:  # noqa: BLE001 - a bug of ours: the batch is not acked, the worker stops
            self.fail(BatchFailedError.of(events, exc, 1))

    def fail(self, failure: BatchFailedError) -> None:
        self.health.failed(str(failure))
        log.error("batch_failed_for_good", reason=str(failure))
        self.exit(self.app, failure)

    async def fold_batch(self, events: Sequence[Any]) -> None:
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                folded, writes = self.fold(events)
                self.health.delivering(lambda: offset_ranges(events))
                try:
                    await writes.deliver()
                finally:
                    self.health.delivered()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                self.metrics.batch_failed(type(exc).__name__)
                if isinstance(exc, PERMANENT) or time.perf_counter() - started > self.settings.fold_retry_s:
                    raise BatchFailedError.of(events, exc, attempt) from exc
                wait = backoff_s(attempt)
                self.health.failing(offset_ranges(events), exc)
                log.warning("batch_retry", attempt=attempt, retry_in_s=round(wait, 3),
                            partitions={p: f"{lo}-{hi}" for p, (lo, hi) in offset_ranges(events).items()},
                            error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(wait)
        if attempt > 1:
            self.health.recovered()
            log.warning("batch_recovered", attempts=attempt)
        if self.positions is not None:  # Hooklog-Offset, ?min_position= (streams/api/freshness.py)
            self.positions.advanced(offset_ranges(events))
        if self.waiters:  # requests waiting to read their own write (streams/worker/waiters.py)
            self.waiters.folded((f.outcome.outputs[0].topic, f.outcome.aggregate_id or "", f.outcome.delivery_id or "")
                                for f in folded if not f.outcome.dead)
        self.metrics.observe_batch(folded, started)
        self.observer.observe(folded)

    def fold(self, events: Iterable[Any]) -> tuple[list[Folded], BatchWrites]:
        """Fold every event against the tables (through an overlay: each touched key written
        once) and collect what to write and publish; nothing is written yet. Pure of side effects
        on the tables, so a failed attempt is folded again from the same stored states."""
        batch: TableBatch[Any] = TableBatch(self.tables, read_in_partition)  # never a standby's copy
        names, co_partitioned, limit = self.topic_names, self.co_partitioned, self.settings.history_limit
        folded: list[Folded] = []
        outputs: list[tuple[str, bytes, bytes, int | None]] = []
        for event in events:
            message = event.message
            batch.current, batch.partition = event, message.partition
            outcome = process_record(message.value, batch.tables, utcnow, message.partition, message.offset,
                                     self.states, limit)
            # A projection record's key is the raw record's key and both topics have the same
            # partition count, so it goes to the raw record's partition number (what the
            # murmur2 partitioner would compute, without computing it per record).
            outputs.extend((names[o.topic], o.key, o.value, message.partition if o.topic in co_partitioned else None)
                           for o in outcome.outputs)
            folded.append(Folded(outcome, message.partition, message.offset))
        writes = BatchWrites(self.app, direct=self.direct)
        batch.flush(writes.put)
        # A projection topic is compacted (the latest state per key): like the changelog, it
        # gets each key's last state of the batch, at its last position (docs/architecture.md).
        for topic, key, value, partition in latest_per_key(outputs, self.projection_topics):
            writes.record(topic, key, value, partition)
        return folded, writes
