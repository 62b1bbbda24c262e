"""The alert views: `GET /alerts` (alerts with their lifecycle, `?state=` filters) and
`POST /alerts/{id}/ack|resolve|silence` (an operator's action, 202 once the broker has it).

The action's body is optional JSON: `reason`, and for a silence `until` (ISO 8601) or
`forSeconds`; an `Idempotency-Key` header makes a client's retry the same action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from faust.web import Request, Response, View

from floor.responses import error_body
from schemas.envelope import utcnow
from schemas.errors import AlertActionError, BrokerUnavailableError
from schemas.lifecycle import AlertStatus
from streams.notify.lifecycle import lifecycle_view, read_lifecycles
from streams.worker.handle import Worker

#: `read(view, request, topic, pick, keep)`: views.py's bounded read of a topic
Read = Callable[..., Awaitable[Response]]
STATES = tuple(status.value for status in AlertStatus)


def _json(view: View, status: int, body: bytes) -> Response:
    return view.bytes(body, content_type="application/json", status=status)


async def action_body(request: Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AlertActionError("the body must be JSON: {\"reason\": …, \"until\": …, \"forSeconds\": …}") from None
    if not isinstance(body, dict):
        raise AlertActionError("the body must be a JSON object")
    return body


def install_alert_views(worker: Worker, read: Read) -> None:
    app, settings = worker.app, worker.settings

    @app.page("/alerts")
    class Alerts(View):
        """Alerts from the alerts topic (deduplicated by their deterministic id), newest last, each
        with its `lifecycle`; `?state=open|acknowledged|silenced|resolved` keeps those in that state."""

        async def get(self, request: Request) -> Response:
            state = request.query.get("state")
            if state is not None and state not in STATES:
                return _json(self, 400, error_body("bad_request", f"state must be one of {', '.join(STATES)}"))
            try:
                lifecycles = await read_lifecycles(settings)
            except BrokerUnavailableError as exc:
                return _json(self, 503, error_body("broker_unavailable", str(exc)))
            now = utcnow()

            def pick(value: bytes) -> dict[str, Any]:
                item = orjson.loads(value)
                item["lifecycle"] = lifecycle_view(lifecycles.get(item.get("id", "")), now)
                return item

            return await read(self, request, "alerts", pick,
                              lambda item: state is None or item["lifecycle"]["status"] == state)

    @app.page("/alerts/{alert_id}/{action}")
    class AlertAction(View):
        async def post(self, request: Request, alert_id: str, action: str) -> Response:
            try:
                done = await worker.alerting.desk.act(alert_id, action, await action_body(request), by="api",
                                                      nonce=request.headers.get("Idempotency-Key"))
            except AlertActionError as exc:
                return _json(self, 400, error_body("bad_request", str(exc)))
            except BrokerUnavailableError as exc:
                return _json(self, 503, error_body("broker_unavailable", str(exc)))
            return _json(self, 202, orjson.dumps({"status": "accepted", "action": done.model_dump(mode="json")}))
