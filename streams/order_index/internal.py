"""What one worker says about its own order index, for the console of any worker to merge.

`GET /internal/console/orders?state=S&before=<ms>[&after=<ms>:<id>]&limit=N` and
`GET /internal/console/counts`, behind the API's bearer token (streams/api/access.py): JSON
from this worker's index for its *active* partitions only, naming them; 503 + Retry-After when
this worker is not ready, its index is still being built, or holds partitions it no longer owns.
The console calls the same `LocalIndex` in-process for its own partitions (streams/order_index/fanout.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from floor.responses import json_error
from schemas.orders import OrderStatus
from streams.order_index.merge import (MAX_PAGE_SIZE, Counts, Cursor, Failed, Part, counts_json, parse_cursor,
                                      part_json)
from streams.kafka import seam

if TYPE_CHECKING:
    from streams.order_index.keeper import IndexKeeper

ORDERS_PATH = "/internal/console/orders"
COUNTS_PATH = "/internal/console/counts"


class LocalIndex:
    """This worker's answers from its index, or why there is none now (`Failed`)."""

    def __init__(self, app: Any, keeper: IndexKeeper, readiness: Callable[[Any], str], own_url: str) -> None:
        self.app, self.keeper, self._readiness, self.own_url = app, keeper, readiness, own_url

    def _covered(self) -> frozenset[int] | Failed:
        status = self._readiness(self.app)
        if status != "ready":
            return Failed(self.own_url, f"is {status}")
        active = seam.active_partitions(self.app, self.keeper.raw_topic)
        missing = active - self.keeper.built
        if missing:
            return Failed(self.own_url, f"is building its order index for partitions {sorted(missing)}", 3)
        stale = self.keeper.built - active
        if stale:
            return Failed(self.own_url, f"is rebalancing (partitions {sorted(stale)} are leaving it)")
        return active

    def orders(self, state: str, before_ms: int, after: Cursor | None, limit: int) -> Part | Failed:
        covered = self._covered()  # read with the index in one step: no await in between
        if isinstance(covered, Failed):
            return covered
        page = self.keeper.index.older_than(state, before_ms, limit=limit, after=after)
        return Part(self.own_url, covered, page.total, page.entries, page.more)

    def counts(self) -> Counts | Failed:
        covered = self._covered()
        if isinstance(covered, Failed):
            return covered
        return Counts(self.own_url, covered, self.keeper.index.counts())


def orders_query(query: Any) -> tuple[str, int, Cursor | None, int]:
    """(state, before ms, cursor, limit) of the internal orders request; ValueError says what is wrong."""
    state, before, limit = query.get("state", ""), query.get("before", ""), query.get("limit", "50")
    if state not in OrderStatus.__members__.values():
        raise ValueError(f"state must be one of {', '.join(OrderStatus)}")
    if not before.isdigit():
        raise ValueError("before must be a time in ms since the epoch")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be 1..{MAX_PAGE_SIZE}")
    return state, int(before), parse_cursor(query.get("after")), int(limit)


def _answer(answer: Part | Counts | Failed) -> web.Response:
    if isinstance(answer, Failed):
        return json_error(503, "index_unavailable", f"{answer.worker} {answer.reason}",
                          {"Retry-After": str(answer.retry_after_s)})
    doc = part_json(answer) if isinstance(answer, Part) else counts_json(answer)
    return web.Response(body=orjson.dumps(doc), content_type="application/json")


def install_internal(router: web.UrlDispatcher, local: LocalIndex) -> None:
    async def orders(request: web.Request) -> web.StreamResponse:
        try:
            state, before, after, limit = orders_query(request.query)
        except ValueError as exc:
            return json_error(400, "bad_request", str(exc))
        return _answer(local.orders(state, before, after, limit))

    async def counts(request: web.Request) -> web.StreamResponse:
        return _answer(local.counts())

    router.add_get(ORDERS_PATH, orders)
    router.add_get(COUNTS_PATH, counts)
