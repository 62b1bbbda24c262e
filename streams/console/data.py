"""Every read the console makes, in one place: states, the order index, and bounded topic reads.

A key's state is read only from this worker's *active* partition that holds it (never a standby
copy), once the worker is ready; a key another worker owns is fetched from the owner's query API
as JSON (the browser stays on this worker, so its session cookie keeps working). When neither
can answer now (starting, rebalancing, recovering, owner unknown or unreachable) the answer is
`Unavailable` (a 503 page, "retry"), never "missing". Alerts and
dead letters are read from their topics, the same on every worker. The stuck-orders list and the
order counts are every worker's part, merged (streams/order_index/fanout.py, merge.py): all
partitions or a 503, never a part presented as the whole.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from pydantic import BaseModel

from floor.kafka.partitioning import partition_for
from projections.registry import PROJECTIONS
from schemas.alerts import Alert
from schemas.deadletter import DeadLetterMeta, decode_dead_letter
from schemas.envelope import decode_envelope
from schemas.errors import BrokerUnavailableError, EnvelopeError, HooklogError
from schemas.koywe_users import user_key
from schemas.kuenta import KUENTA_EVENTS, KuentaState
from schemas.orders import OrderState
from schemas.users import UserState
from streams.api.routing import Local, Refuse, route
from streams.console import rawlog
from streams.order_index.merge import Cursor, Gap, Merged, WorkerRow
from streams.console.timeline import RawEvent, body_text, raw_event
from streams.kafka import seam
from streams.ops.verify import api_path

if TYPE_CHECKING:
    from streams.api.forward import Router
    from streams.order_index.fanout import FanOut
    from streams.worker.handle import Worker

RAW_MARGIN = timedelta(minutes=5)  # raw records' Kafka timestamps vs the envelope's receivedAt
RAW_CAP = 20_000  # raw records scanned on a key's partition for one page
ALERT_CAP = 5_000  # newest alert / dead-letter records read per partition for one page
EVENTS = {p.name: (p.source, p.events) for p in PROJECTIONS}


class Unavailable(HooklogError):
    """This worker cannot answer now; retry (another worker owns it, or this one is not ready)."""

    def __init__(self, reason: str, retry_after_s: int = 2) -> None:
        super().__init__(reason)
        self.reason, self.retry_after_s = reason, retry_after_s


class RawSlice(NamedTuple):
    events: list[RawEvent]
    scanned: int
    capped: bool


class DeadLetter(NamedTuple):
    partition: int
    offset: int
    meta: DeadLetterMeta | None
    body: str
    problem: str | None


class ConsoleData:
    def __init__(self, worker: Worker, router: Router, fanout: FanOut, readiness: Any) -> None:
        self.worker, self.router, self.fanout, self._readiness = worker, router, fanout, readiness
        self.settings = worker.settings
        self.raw_topic = worker.topics["raw"].get_topic_name()

    # -- states: local, active partitions only -------------------------------------------------
    async def _state(self, table: str, key: str, model: type[BaseModel]) -> Any:
        """The key's state from this worker's active partition, or as its owner's API gives it
        (the same routing decision as the query API: streams/api/routing.py); Unavailable when
        neither can answer now, None only when the owner has no such key."""
        router = self.router
        decision = route(router.view_of(table), partition_for(key, self.settings.partitions), forwarded=False)
        if isinstance(decision, Refuse):
            raise Unavailable(decision.detail, decision.retry_after_s)
        if isinstance(decision, Local):
            stored = seam.read_in_partition(self.worker.tables[table], decision.partition, key)
        else:
            stored = await self._from_owner(router, decision.url, table, key)
        return None if stored is None else model.model_validate_json(stored)

    async def _from_owner(self, router: Router, url: str, table: str, key: str) -> bytes | None:
        """The owner's `GET` of the key, with this worker's first API token (the console's user
        holds a cookie of this worker, not a token); 404 is None, anything else Unavailable."""
        tokens = self.settings.api_token_list
        headers = {"Authorization": f"Bearer {tokens[0].get_secret_value()}"} if tokens else {}
        path = api_path(table, quote(key, safe="@:"))
        answer = await router.forwarder.send("GET", url, path, b"", headers)
        if isinstance(answer, Refuse):
            raise Unavailable(answer.detail, answer.retry_after_s)
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise Unavailable(f"the key's owner {url} answered {answer.status}: {answer.body!r:.200}",
                              int(answer.headers.get("Retry-After", "2")))
        return answer.body

    async def order(self, order_id: str) -> OrderState | None:
        return await self._state("orders", order_id, OrderState)

    async def user(self, user_id: str) -> UserState | None:
        return await self._state("kyc", user_key(user_id), UserState)

    async def kuenta(self, family: str, ident: str) -> KuentaState | None:
        if family not in KUENTA_EVENTS:
            raise ValueError("family must be credit, payment, document or validation")
        return await self._state(f"kuenta.{family}", ident, KuentaState)

    # -- the order index of every partition: each worker's part, merged ------------------------
    async def stuck_orders(self, state: str, before: datetime, after: Cursor | None, size: int) -> Merged:
        """One page of every partition's orders in `state` updated before `before`, newest first."""
        got = await self.fanout.orders(state, int(before.timestamp() * 1000), after, size)
        if isinstance(got, Gap):
            raise Unavailable(got.reason, got.retry_after_s)
        return got

    async def fleet(self) -> tuple[dict[str, int] | None, str | None, list[WorkerRow]]:
        """(order counts of every partition, or why not now) and each worker of the assignment."""
        counts, rows = await self.fanout.counts(self._readiness(self.worker.app))
        return (None, counts.reason, rows) if isinstance(counts, Gap) else (counts, None, rows)

    # -- topics: the same on every worker ------------------------------------------------------
    async def raw_events(self, table: str, key: str, since: datetime | None) -> RawSlice:
        """This aggregate's raw records (every delivery) on its partition, from `since` − margin."""
        source, names = EVENTS[table]
        start = since - RAW_MARGIN if since is not None else None
        partition = partition_for(key, self.settings.partitions)
        got = await self._read(rawlog.read_key(self.settings, self.raw_topic, partition,
                                               key.encode(), start, RAW_CAP))
        decoded = (raw_event(r.value, r.offset) for r in got.records)
        events = [e for e in decoded if e is not None and e.source == source and e.event_name in names]
        return RawSlice(events, got.scanned, got.capped)

    async def alerts(self, since: datetime, alert_type: str | None = None,
                     aggregate_id: str | None = None) -> tuple[list[Alert], bool]:
        """Alerts since `since`, newest first, one per alert id (a replay repeats ids)."""
        got = await self._read(rawlog.read_recent(self.settings, self.settings.topic("alerts"),
                                                  since, ALERT_CAP))
        found: dict[str, Alert] = {}
        for record in rawlog.newest_first(got.records):
            try:
                alert = Alert.model_validate_json(record.value)
            except ValueError:
                continue
            if (alert_type and alert.type != alert_type) or (aggregate_id and alert.aggregateId != aggregate_id):
                continue
            found.setdefault(alert.id, alert)
        return list(found.values()), got.capped

    async def dead_letters(self, since: datetime) -> tuple[list[DeadLetter], bool]:
        got = await self._read(rawlog.read_recent(self.settings, self.settings.topic("dlq"),
                                                  since, ALERT_CAP))
        return [dead_letter(r.partition, r.offset, r.value) for r in rawlog.newest_first(got.records)], got.capped

    async def dead_letter_count(self) -> int:
        return await self._read(rawlog.topic_size(self.settings, self.settings.topic("dlq")))

    async def dead_letter_value(self, partition: int, offset: int) -> bytes | None:
        return await self._read(rawlog.record_at(self.settings, self.settings.topic("dlq"),
                                                 partition, offset))

    @staticmethod
    async def _read(reading: Any) -> Any:
        try:
            return await reading
        except BrokerUnavailableError as exc:
            raise Unavailable(f"the broker cannot be read now: {exc}", 5) from exc


def dead_letter(partition: int, offset: int, value: bytes) -> DeadLetter:
    try:
        meta, raw = decode_dead_letter(value)
    except EnvelopeError as exc:
        return DeadLetter(partition, offset, None, body_text(value), str(exc))
    try:
        return DeadLetter(partition, offset, meta, body_text(decode_envelope(raw).body), None)
    except EnvelopeError:  # the raw record itself was not an envelope: show all of it
        return DeadLetter(partition, offset, meta, body_text(raw), None)


def pretty(value: Any) -> str:
    """Indented JSON text of a model or mapping (rendered escaped, as text)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
