"""What the query views answer from: a worker's tables through its router, and bounded topic reads.

One `QueryApi` per worker, built by the composition root (streams/compose/worker.py) and bound
to the module-level view classes of streams/api/views.py. A key's answer is routed
(streams/api/forward.py): from this worker's active, recovered partition of the key, forwarded
once to the owner, or 503 + Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from faust.web import Request, Response, View

from floor.kafka.topic_reader import read_range
from floor.responses import error_body
from floor.tls import peer_context
from schemas.errors import BrokerUnavailableError
from schemas.times import parse_time
from streams.api.freshness import Bounds, Freshness, read_bounds
from streams.api.forward import Forwarder, Router
from streams.api.readiness import readiness
from streams.api.routing import WorkerView
from streams.kafka.seam import active_partitions, owner_urls, read_in_partition
from streams.worker.handle import Worker
from streams.worker.waiters import DELIVERY_ID, MAX_WAIT_S, TooManyWaitersError, holds_delivery

MAX_LIMIT = 1000

#: a topic record's value -> the item a listing shows
Pick = Callable[[bytes], dict[str, Any]]


def json_response(view: View, status: int, body: bytes) -> Response:
    return view.bytes(body, content_type="application/json", status=status)


def error_response(view: View, status: int, code: str, detail: str) -> Response:
    return json_response(view, status, error_body(code, detail))


def listing_query(request: Request) -> tuple[datetime | None, int, str | None]:
    """`since` (ISO 8601), `limit` (1..1000, default 100), `type`; ValueError says which is bad."""
    raw_since = request.query.get("since")
    try:
        since = parse_time(raw_since) if raw_since else None
    except ValueError:
        raise ValueError(f"since={raw_since!r} is not an ISO 8601 time") from None
    raw_limit = request.query.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return since, int(raw_limit), request.query.get("type")


def build_router(worker: Worker) -> Router:
    """The router of this worker's key queries: its view of the group's assignment per table, a
    forwarder to the owners (closed with the web app), refusals and forwards counted."""
    app, settings, metrics = worker.app, worker.settings, worker.metrics
    own_url = str(app.conf.canonical_url)
    changelogs = {name: table.changelog_topic.get_topic_name() for name, table in worker.tables.items()}

    def view_of(table: str) -> WorkerView:
        changelog = changelogs[table]
        return WorkerView(readiness(app, worker.health, worker.contact), own_url, active_partitions(app, changelog),
                          owner_urls(app, changelog), settings.partitions)

    forwarder = Forwarder(own_url, settings.forward_timeout_s, lambda outcome: metrics.forwarded.labels(outcome).inc(),
                          peer_context(settings), settings.peer_secret)

    async def close_forwarder(web_app: Any) -> None:
        await forwarder.close()

    app.web.web_app.on_cleanup.append(close_forwarder)  # type: ignore[attr-defined] - Faust's aiohttp driver
    # every local answer says how fresh it is (streams/api/freshness.py)
    freshness = Freshness(app, worker.topics["raw"].get_topic_name(), worker.positions, settings.worker_id or own_url)
    router = Router(view_of, settings.partitions, forwarder, lambda reason: metrics.unavailable.labels(reason).inc(),
                    freshness)
    return router


@dataclass
class QueryApi:
    """One worker's answers: a key's state (optionally once a delivery is folded) and topic listings."""

    worker: Worker
    router: Router

    @property
    def own_url(self) -> str:
        return str(self.worker.app.conf.canonical_url)

    def stored(self, table: str, partition: int, key: str) -> bytes | None:
        return read_in_partition(self.worker.tables[table], partition, key)

    async def answer_state(self, view: View, request: Request, table: str, key: str, missing: str) -> Response:
        """The stored state; with `?delivery=<id>[&wait=<s>]`, once that delivery is folded into it;
        with `?min_position=<p>:<o>[&wait=<s>]` once its partition folded past that; `?max_lag=`."""
        delivery = request.query.get("delivery")
        wait_s = 0.0
        if delivery is not None:
            try:
                wait_s = float(request.query.get("wait", "10"))
            except ValueError:
                wait_s = -1.0
            if not DELIVERY_ID.fullmatch(delivery) or not 0 <= wait_s <= MAX_WAIT_S:
                return error_response(view, 400, "bad_request", "delivery must be an ingest delivery id "
                                      f"(32 hex digits), wait 0..{MAX_WAIT_S:.0f} seconds")

        try:  # ?min_position=&wait=, ?max_lag= (streams/api/freshness.py)
            bounds = read_bounds(request.query)
        except ValueError as exc:
            return error_response(view, 400, "bad_request", str(exc))

        async def local(partition: int) -> Response:
            unfresh = await self.held_back(view, table, partition, bounds)
            if unfresh is not None:
                return unfresh
            if delivery is None:
                stored = self.stored(table, partition, key)
                return error_response(view, 404, "not_found", missing) if stored is None else json_response(view, 200, stored)
            return await self.answer_delivery(view, table, key, partition, delivery, wait_s)

        return await self.router.answer(request, table, key, local, extra_s=max(wait_s, bounds.wait_s))

    async def held_back(self, view: View, table: str, partition: int, bounds: Bounds) -> Response | None:
        """None when this worker's store of `partition` meets the request's bounds, else the answer."""
        unfresh = None if self.router.freshness is None else await self.router.freshness.check(partition, bounds)
        moved = self.router.still_local(table, partition) if bounds.wait_s else None
        if moved is not None:  # revoked or rebalancing while waiting: not this worker's answer
            return self.router.refuse(moved)
        if unfresh is None:
            return None
        answer = error_response(view, unfresh.status, unfresh.code, unfresh.detail)
        if unfresh.retry_after_s is not None:
            answer.headers["Retry-After"] = str(unfresh.retry_after_s)
        return answer

    async def answer_delivery(self, view: View, table: str, key: str, partition: int, delivery: str,
                              wait_s: float) -> Response:
        try:
            with self.worker.waiters.expecting(table, key, delivery) as folded:
                stored = self.stored(table, partition, key)
                done = holds_delivery(stored, delivery)
                if not done and wait_s > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(folded), wait_s)
                        done = True  # folded now, even a repeat that left the history as it was
                    moved = self.router.still_local(table, partition)
                    if moved is not None:  # revoked or rebalancing while waiting: not this worker's answer
                        return self.router.refuse(moved)
                    stored = self.stored(table, partition, key)
        except TooManyWaitersError as exc:
            return error_response(view, 503, "overloaded", str(exc))
        if not done or stored is None:
            return error_response(view, 404, "not_folded",
                                  f"delivery {delivery} is not folded into {key!r} after {wait_s:g} s")
        return json_response(view, 200, stored)

    async def read(self, view: View, request: Request, topic: str, pick: Pick,
                   keep: Callable[[dict[str, Any]], bool] | None = None) -> Response:
        """A bounded listing of a topic: one item per key (the first seen), the last `limit`."""
        try:
            since, limit, wanted = listing_query(request)
        except ValueError as exc:
            return error_response(view, 400, "bad_request", str(exc))
        settings = self.worker.settings
        found: dict[str, Any] = {}
        try:
            async for batch in read_range(settings, settings.topic(topic), since=since):
                for record in batch:
                    item = pick(record.value)
                    if (wanted is None or item.get("type") == wanted) and (keep is None or keep(item)):
                        found.setdefault(record.key.decode() if record.key else str(record.offset), item)
        except BrokerUnavailableError as exc:
            return error_response(view, 503, "broker_unavailable", str(exc))
        items = list(found.values())[-limit:]
        return json_response(view, 200, orjson.dumps({"items": items, "count": len(items)}))
