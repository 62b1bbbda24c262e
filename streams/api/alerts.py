"""The alert views: `GET /alerts` (alerts with their lifecycle, `?state=` filters) and
`POST /alerts/{id}/ack|resolve|silence` (an operator's action, 202 once the broker has it).

The action's body is optional JSON: `reason`, and for a silence `until` (ISO 8601) or
`forSeconds`; an `Idempotency-Key` header makes a client's retry the same action.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from faust.web import Request, Response

from floor.responses import error_body
from schemas.envelope import utcnow
from schemas.errors import AlertActionError, BrokerUnavailableError
from schemas.lifecycle import AlertStatus
from streams.api.query import QueryApi, json_response
from streams.api.views import ApiView, bound
from streams.notify.actions import ActionDesk
from streams.notify.lifecycle import lifecycle_view, read_lifecycles

STATES = tuple(status.value for status in AlertStatus)


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


class Alerts(ApiView):
    """Alerts from the alerts topic (deduplicated by their deterministic id), newest last, each
    with its `lifecycle`; `?state=open|acknowledged|silenced|resolved` keeps those in that state."""

    async def get(self, request: Request) -> Response:
        state = request.query.get("state")
        if state is not None and state not in STATES:
            return json_response(self, 400, error_body("bad_request", f"state must be one of {', '.join(STATES)}"))
        try:
            lifecycles = await read_lifecycles(self.api.worker.settings)
        except BrokerUnavailableError as exc:
            return json_response(self, 503, error_body("broker_unavailable", str(exc)))
        now = utcnow()

        def pick(value: bytes) -> dict[str, Any]:
            item = orjson.loads(value)
            item["lifecycle"] = lifecycle_view(lifecycles.get(item.get("id", "")), now)
            return item

        return await self.api.read(self, request, "alerts", pick,
                                   lambda item: state is None or item["lifecycle"]["status"] == state)


class AlertAction(ApiView):
    """An operator's ack/resolve/silence of an alert, through the action desk (`desk`)."""

    desk: ClassVar[ActionDesk]

    async def post(self, request: Request, alert_id: str, action: str) -> Response:
        try:
            done = await self.desk.act(alert_id, action, await action_body(request), by="api",
                                       nonce=request.headers.get("Idempotency-Key"))
        except AlertActionError as exc:
            return json_response(self, 400, error_body("bad_request", str(exc)))
        except BrokerUnavailableError as exc:
            return json_response(self, 503, error_body("broker_unavailable", str(exc)))
        return json_response(self, 202, orjson.dumps({"status": "accepted", "action": done.model_dump(mode="json")}))


def install_alert_views(api: QueryApi, desk: ActionDesk) -> None:
    """`GET /alerts?state=`, `POST /alerts/{id}/ack|resolve|silence`, bound to `api` and `desk`."""
    api.worker.app.page("/alerts")(bound(Alerts, api=api))
    api.worker.app.page("/alerts/{alert_id}/{action}")(bound(AlertAction, api=api, desk=desk))
