"""Asking every worker of the assignment for its part of a cross-partition console answer.

The owners come from the group's assignment (the query API's routing view); this worker's part
is answered in-process (`LocalIndex`), every other owner's through
`/internal/console/...` with the forwarding client of the query API (its session and timeout,
streams/api/forward.py) and this worker's first API token, all at once. The answers are merged
in streams/order_index/merge.py, which turns any failure or uncovered partition into a `Gap`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson

from streams.api.forward import Forwarder
from streams.api.routing import Refuse, WorkerView
from streams.order_index.internal import COUNTS_PATH, ORDERS_PATH, LocalIndex
from streams.order_index.merge import (Answer, Counts, Cursor, Failed, Gap, Merged, WorkerRow, counts_from_json,
                                   format_cursor, merge_counts, merge_pages, part_from_json, plan, worker_rows)


class FanOut:
    def __init__(self, view: Callable[[], WorkerView], forwarder: Forwarder, local: LocalIndex,
                 token: str | None) -> None:
        self._view, self.forwarder, self.local = view, forwarder, local
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _gather(self, view: WorkerView, path_qs: str, local: Callable[[], Answer],
                      decode: Callable[[Any], Answer]) -> list[Answer]:
        async def ask(url: str) -> Answer:
            if url == view.url:
                return local()
            return await self._remote(url, path_qs, decode)

        return list(await asyncio.gather(*(ask(url) for url in plan(view.owners))))

    async def _remote(self, url: str, path_qs: str, decode: Callable[[Any], Answer]) -> Answer:
        answer = await self.forwarder.send("GET", url, path_qs, b"", self._headers)
        if isinstance(answer, Refuse):
            return Failed(url, "is unreachable (it may have stopped)", answer.retry_after_s)
        body = answer.body if isinstance(answer.body, bytes) else b""
        retry = answer.headers.get("Retry-After", "2")
        try:
            doc = orjson.loads(body)
            if answer.status == 200:
                return decode(doc)
            reason = str(doc.get("detail", doc))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            reason = f"{body[:200]!r}"
        return Failed(url, f"answered {answer.status}: {reason}", int(retry) if retry.isdigit() else 2)

    async def orders(self, state: str, before_ms: int, after: Cursor | None, limit: int) -> Merged | Gap:
        view = self._view()
        query = {"state": state, "before": before_ms, "limit": limit, **({"after": format_cursor(after)} if after else {})}
        answers = await self._gather(view, f"{ORDERS_PATH}?{urlencode(query)}",
                                     lambda: self.local.orders(state, before_ms, after, limit),
                                     lambda doc: part_from_json(doc, state))
        return merge_pages(answers, view.partitions, limit)

    async def counts(self, own_status: str) -> tuple[dict[str, int] | Gap, list[WorkerRow]]:
        """The counts of every partition (or why not now), and every worker's line for the home page."""
        view = self._view()
        answers = await self._gather(view, COUNTS_PATH, self.local.counts, counts_from_json)
        return merge_counts(answers, view.partitions), worker_rows(view.owners, answers, view.url, own_status)
