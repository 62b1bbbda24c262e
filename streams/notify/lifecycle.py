"""The lifecycle folder: alerts and actions in, each alert's lifecycle out (compacted topic).

One consumer group (`<prefix>-lifecycle`) over `<prefix>.alerts.v1` and
`<prefix>.alert-actions.v1`, both keyed by alert id and co-partitioned (the range assignor hands
a member the same partition of both). A member holds its partitions' lifecycles in memory,
loaded from `<prefix>.lifecycle.v1`'s same partition when assigned: the compacted topic *is*
the table, and there are few alerts. Each batch is folded (`projections.lifecycle`), its new
states published, and only once the broker acknowledged them are the inputs committed; a crash
re-folds from the last commit, and the fold takes a repeat as nothing.

A silence ends by itself: every `EXPIRY_CHECK_S` the folder sends an `expire` action
(`silence_expiry`, a deterministic id) for each of its lifecycles silenced past its end, to the
actions topic like any action; folded, it opens the alert again and every sink is told. A crash
before the send leaves it to the partition's next owner; two owners during a rebalance send the
same id, folded once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from pydantic import ValidationError

from projections.lifecycle import Input, fold_lifecycle
from schemas.alerts import Alert
from schemas.jsondump import plain_json
from schemas.envelope import utcnow
from schemas.lifecycle import AlertAction, AlertLifecycle, AlertStatus, LifecycleChange, lifecycle_key, silence_expiry
from floor.settings import Settings
from floor.kafka.names import lifecycle_group
from floor.kafka.topic_reader import read_range
from streams.notify.consumer import consume_producing, group_consumer, log, new_producer, read_partition

Table = dict[str, AlertLifecycle]

#: How often the folder looks for silences that have ended.
EXPIRY_CHECK_S = 1.0


def decode_input(topic_kind: str, value: bytes | None) -> Input | None:
    """An alert or an action record's value; None (logged) for what is neither."""
    model = Alert if topic_kind == "alerts" else AlertAction
    try:
        return model.model_validate_json(value or b"")
    except ValidationError as exc:
        log.warning("lifecycle_input_unreadable", kind=topic_kind, error=str(exc).splitlines()[0])
        return None


def input_key(item: Input) -> str:
    """The alert an input belongs to: an alert's own id, an action's alert id."""
    return item.id if isinstance(item, Alert) else item.alertId


def decode_lifecycle(value: bytes | None) -> AlertLifecycle | None:
    if not value:
        return None
    try:
        return AlertLifecycle.model_validate_json(value)
    except ValidationError:
        return None


class LifecycleFolder(ConsumerRebalanceListener):
    """Fold a member's partitions of alerts and actions; `on_change` sees each change folded
    (the console's and the metrics' live view; the notifiers read the topic)."""

    def __init__(self, settings: Settings, on_change: Callable[[LifecycleChange], None] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.on_change = on_change
        self.clock = clock
        self.expiries_sent: set[str] = set()  # expire actions sent and not folded yet
        self.kinds = {settings.topic("alerts"): "alerts", settings.topic("alert-actions"): "actions"}
        self.out = settings.topic("lifecycle")
        self.tables: dict[int, Table] = {}
        self.producer: AIOKafkaProducer | None = None
        self.folded = 0

    async def run(self) -> None:
        self.tables = {}  # a new run starts from what the topic holds, never from a failed run's memory
        self.expiries_sent = set()
        self.producer = new_producer(self.settings)
        expiring = asyncio.ensure_future(self.expire_forever())
        try:
            await consume_producing(group_consumer(self.settings, list(self.kinds), lifecycle_group(self.settings), self),
                                    self.producer, self.handle)
        finally:
            expiring.cancel()
            await asyncio.gather(expiring, return_exceptions=True)

    async def expire_forever(self) -> None:
        """End the silences that are over, every EXPIRY_CHECK_S; a failed send is tried next round."""
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            try:
                await self.expire_silences(self.clock())
            except Exception as exc:  # noqa: BLE001 - the broker away: the next round sends it
                log.warning("silence_expiry_unsent", error=f"{type(exc).__name__}: {exc}")

    async def expire_silences(self, now: datetime) -> list[AlertAction]:
        """Send an `expire` action for each held lifecycle silenced past its end (once per run
        until folded); the actions sent."""
        due = [silence_expiry(state.alertId, state.silencedUntil) for table in list(self.tables.values())
               for state in list(table.values())
               if state.status is AlertStatus.SILENCED and state.silencedUntil is not None and state.silencedUntil <= now]
        self.expiries_sent &= {action.id for action in due}  # folded ones are due no more
        sent = []
        for action in due:
            if action.id in self.expiries_sent or self.producer is None:
                continue
            await self.producer.send_and_wait(self.settings.topic("alert-actions"), plain_json(action),
                                              key=lifecycle_key(action.alertId))
            self.expiries_sent.add(action.id)
            sent.append(action)
        if sent:
            log.info("silences_ended", alerts=[a.alertId for a in sent])
        return sent

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self.tables.pop(tp.partition, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Nothing to do here: `handle` loads a partition's table before its first batch, where a
        failed load fails the run (a table folded from nothing would publish alerts without their facts)."""

    async def load(self, partition: int) -> Table:
        table: Table = {}
        for record in await read_partition(self.settings, self.out, partition):
            state = decode_lifecycle(record.value)
            if state is None:
                table.pop(record.key.decode() if record.key else "", None)
            else:
                table[state.alertId] = state
        return table

    async def handle(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        table = self.tables.get(tp.partition)
        if table is None:
            table = self.tables[tp.partition] = await self.load(tp.partition)
        kind = self.kinds[tp.topic]
        changed: Table = {}
        for record in records:
            item = decode_input(kind, record.value)
            if item is None:
                continue
            key = input_key(item)
            state = table.get(key)
            new, changes = fold_lifecycle(state, item)
            if new is not state:
                table[key] = changed[key] = new
            for change in changes:
                if self.on_change is not None:
                    self.on_change(change)
        assert self.producer is not None
        sent = [await self.producer.send(self.out, plain_json(state), key=lifecycle_key(key), partition=tp.partition)
                for key, state in changed.items()]
        await asyncio.gather(*sent)  # committed by `consume` only after this: published first
        self.folded += len(records)


async def read_lifecycles(settings: Settings) -> dict[str, AlertLifecycle]:
    """Every alert's lifecycle as the compacted topic holds it now (the API's and console's view)."""
    found: dict[str, AlertLifecycle] = {}
    async for batch in read_range(settings, settings.topic("lifecycle")):
        for record in batch:
            state = decode_lifecycle(record.value)
            if state is not None:
                found[state.alertId] = state
    return found


def lifecycle_view(state: AlertLifecycle | None, now: datetime) -> dict[str, object]:
    """What GET /alerts adds to an alert: its status now, since when, by whom, and its changes.
    An alert the folder has not reached yet is open."""
    if state is None:
        return {"status": "open", "changes": []}
    last = state.changes[-1] if state.changes else None
    return {"status": state.status_at(now).value, "updatedAt": state.updatedAt and state.updatedAt.isoformat(),
            "by": last.by if last else None, "silencedUntil": state.silencedUntil and state.silencedUntil.isoformat(),
            "changes": [c.model_dump(mode="json") for c in state.changes]}
