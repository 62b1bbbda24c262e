"""The worker's query API (Faust's aiohttp web server): read the local tables.

One worker process owns every partition in the default deployment, so a local read is complete;
`web_tables_enabled` stays off, only these views are served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from faust.web import Request, Response, View

if TYPE_CHECKING:
    from streams.app import Worker


def _json(view: View, status: int, body: bytes) -> Response:
    return view.bytes(body, content_type="application/json", status=status)


def _not_found(view: View, what: str) -> Response:
    return _json(view, 404, orjson.dumps({"error": "not_found", "detail": what}))


def install_views(worker: Worker) -> None:
    app = worker.app

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return _json(self, 200, b'{"status":"ok"}')

    @app.page("/orders/{order_id}")
    class Order(View):
        async def get(self, request: Request, order_id: str) -> Response:
            stored: Any = worker.tables["orders"].get(order_id)
            if stored is None:
                return _not_found(self, f"no order {order_id!r} (yet)")
            return _json(self, 200, stored)
