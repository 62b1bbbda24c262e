"""Keeps the order index (streams/order_index/index.py) true to this worker's *active* partitions.

- Each folded batch: every order state the fold wrote is indexed (`observe`, one call per batch
  from the fold loop), for the partitions this worker is assigned.
- Partitions revoked (a rebalance, another worker joined): their orders are dropped at once.
- Partitions assigned: once the worker is ready (tables restored), a background task scans each
  new partition's own RocksDB store, in chunks that yield to the event loop. A scanned row never
  overrides what the fold indexed meanwhile (the fold's write is newer). Until a partition is
  scanned, `/console/orders?state=` answers 503 "index building" instead of a short list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import orjson

from floor.kafka.partitioning import partition_for
from floor.logs import get_logger
from schemas.times import parse_time
from streams.kafka import seam
from streams.order_index.index import OrderIndex

log = get_logger("worker.order_index")
SCAN_CHUNK = 5_000


def _updated_ms(text: str) -> int:
    return int(parse_time(text).timestamp() * 1000)


def order_entry(value: bytes) -> tuple[str, int]:
    """(state, updatedAt in ms) of a published order state's JSON."""
    doc = orjson.loads(value)
    return doc["state"], _updated_ms(doc["updatedAt"])


def state_entry(state: Any) -> tuple[str, int]:
    """`order_entry` of the folded OrderState object itself, without parsing its JSON again."""
    return state.state.value, int(state.updatedAt.timestamp() * 1000)


class IndexKeeper:
    """The fold loop's observer (streams/worker/fold_loop.py's `FoldObserver`): this worker's part of the index."""

    def __init__(self, app: Any, table: Any, raw_topic: str, partitions: int, ready: Any) -> None:
        self.app, self.table, self.raw_topic, self._ready = app, table, raw_topic, ready
        self.partitions = partitions
        self.index = OrderIndex()
        self.built: set[int] = set()  # active partitions whose rows are all indexed
        self._task: asyncio.Task[None] | None = None
        app.on_partitions_revoked.connect(self._revoked)
        app.on_partitions_assigned.connect(self._assigned)

    def observe(self, folded: Iterable[Any]) -> None:
        """Index the order states one folded batch wrote; never raises into the fold."""
        try:
            owned = seam.active_partitions(self.app, self.raw_topic)
            for f in folded:
                outcome = f.outcome
                if f.partition not in owned or outcome.dead or not outcome.outputs \
                        or outcome.outputs[0].topic != "orders":
                    continue
                state, updated = state_entry(outcome.state)  # a folded (not dead) outcome carries its state
                self.index.put(outcome.aggregate_id, state, updated, f.partition)
        except Exception:  # noqa: BLE001 - an index bug must not stop the fold
            log.exception("console_index_failed")

    def missing(self) -> frozenset[int]:
        """Active partitions not indexed yet (empty: the index answers for this worker)."""
        return seam.active_partitions(self.app, self.raw_topic) - self.built

    async def _revoked(self, sender: Any, revoked: set[Any], **_: Any) -> None:
        gone = {tp.partition for tp in revoked if tp.topic == self.raw_topic}
        self.built -= gone
        dropped = self.index.drop_partitions(gone)
        log.info("console_index_revoked", partitions=sorted(gone), orders=dropped)

    async def _assigned(self, sender: Any, assigned: set[Any], **_: Any) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._rebuild())

    async def _rebuild(self) -> None:
        """Wait for restored tables, then index every active partition not indexed yet."""
        try:
            await self._rebuild_all()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged; the pages keep answering 503 "index building"
            log.exception("console_index_rebuild_failed")

    async def _rebuild_all(self) -> None:
        while True:
            if self._ready(self.app) != "ready":
                await asyncio.sleep(0.25)
                continue
            todo = sorted(self.missing())
            if not todo:
                return
            for partition in todo:
                await self._scan(partition)

    async def _scan(self, partition: int) -> None:
        count = 0
        try:
            rows = seam.partition_items(self.table, partition)
        except NotImplementedError:  # e.g. memory:// (development): filter every row by its owner
            rows = ((k, v) for k, v in list(self.table.items()) if partition_for(k, self.partitions) == partition)
        while True:
            if partition not in seam.active_partitions(self.app, self.raw_topic):
                return  # revoked while scanning: its rows are dropped by _revoked
            chunk = [row for _, row in zip(range(SCAN_CHUNK), rows, strict=False)]
            for key, value in chunk:  # read and indexed in one step: no fold write in between
                if value is not None:
                    state, updated = order_entry(value)
                    self.index.put_if_absent(key, state, updated, partition)
            count += len(chunk)
            if len(chunk) < SCAN_CHUNK:
                break
            await asyncio.sleep(0)
        self.built.add(partition)
        log.info("console_index_built", partition=partition, orders=count)
