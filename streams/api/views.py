"""The worker's query API (Faust's aiohttp web server): local tables and bounded topic reads.

A key's view (`/orders`, `/kyc`, `/kuenta`, `/koywe-payments`, `/events`, `/auth/koywe`) is routed
(streams/api/forward.py): answered from this worker's active, recovered partition of the key,
forwarded once to the owner, or 503 + Retry-After; a 404 only from the owner. Faust's own
`table_route`/web tables stay off (they hash the JSON key and drop bodies). Every view except
`/healthz`, `/readyz`, `/metrics` and `/auth/koywe` needs an API bearer token
(streams/api/access.py).

The view classes live at module level; `install_views` binds each to one worker's `QueryApi`
(a subclass per worker, so two workers in one process keep their own).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import orjson
from faust.web import Request, Response, View

from schemas.deadletter import decode_dead_letter
from schemas.errors import EnvelopeError
from schemas.koywe_users import user_key
from streams.api.access import PEER_TRUSTED, api_guard, bearer_ok
from streams.api.query import QueryApi, error_response, json_response
from streams.kafka.seam import active_partitions

V = TypeVar("V", bound=type[View])


def _body_text(raw: bytes) -> dict[str, str]:
    try:
        return {"original": raw.decode()}
    except UnicodeDecodeError:
        return {"originalBase64": base64.b64encode(raw).decode()}


def _dead_letter_json(value: bytes) -> dict[str, Any]:
    try:
        meta, raw = decode_dead_letter(value)
    except EnvelopeError as exc:
        return {"reason": f"unreadable dead letter: {exc}"}
    return {**meta.model_dump(mode="json"), **_body_text(raw)}


class ApiView(View):
    """A view of one worker's query API (`api`, bound by `install_views`)."""

    api: ClassVar[QueryApi]


class StateView(ApiView):
    """`GET <path>/{key}`: the key's state in `table` (keys normalised by `normalise`)."""

    table: ClassVar[str]
    normalise: ClassVar[Callable[[str], str]] = str

    async def get(self, request: Request, key: str) -> Response:
        table = self.table
        return await self.api.answer_state(self, request, table, type(self).normalise(key),
                                           f"no {table} state for {key!r} (yet)")


class Health(View):
    async def get(self, request: Request) -> Response:
        return json_response(self, 200, b'{"status":"ok"}')


class Ready(ApiView):
    """200 once this worker can serve or forward any key: tables restored, not rebalancing or
    recovering, every partition's owner known; the body shows the group's assignment."""

    async def get(self, request: Request) -> Response:
        view, worker = self.api.router.view_of("orders"), self.api.worker
        status = view.ready
        reason = worker.health.reason or (worker.contact.reason if status == "cut_off" and worker.contact else None)
        body = {"status": status, **({"reason": reason} if reason else {}),
                "worker": self.api.own_url, "workerId": worker.settings.worker_id,
                "active": sorted(view.active), "owners": {str(p): u for p, u in sorted(view.owners.items())}}
        return json_response(self, 200 if status == "ready" else 503, orjson.dumps(body))


class Metrics(ApiView):
    """Prometheus text format; open, and holds no secret or payload."""

    async def get(self, request: Request) -> Response:
        body, content_type = self.api.worker.metrics.exposition()
        return self.bytes(body, headers={"Content-Type": content_type})


class ConfiguredSourceState(ApiView):
    async def get(self, request: Request, source: str, key: str) -> Response:
        return await self.api.answer_state(self, request, "events", f"{source}:{key}",
                                           f"no {source} aggregate {key!r} (yet)")


class KuentaState(ApiView):
    async def get(self, request: Request, family: str, key: str) -> Response:
        if f"kuenta.{family}" not in self.api.worker.tables:
            return error_response(self, 404, "not_found", "family must be credit, payment, document or validation")
        return await self.api.answer_state(self, request, f"kuenta.{family}", key, f"no Kuenta {family} {key!r} (yet)")


class KoywePaymentsState(ApiView):
    """Koywe Payments API resources: orders, contacts, merchants, invitations (by `data.id`)."""

    async def get(self, request: Request, family: str, key: str) -> Response:
        if f"koywe-payments.{family}" not in self.api.worker.tables:
            return error_response(self, 404, "not_found", "family must be orders, contacts, merchants or invitations")
        return await self.api.answer_state(self, request, f"koywe-payments.{family}", key,
                                           f"no Koywe Payments {family.removesuffix('s')} {key!r} (yet)")


async def _email(request: Request) -> str | None:
    try:
        email = orjson.loads(await request.read()).get("email")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return email if isinstance(email, str) and "@" in email else None


class KoyweAuthCallback(ApiView):
    """Koywe asks before a user buys, sells or reads private data: `true` iff KYC is verified."""

    async def post(self, request: Request) -> Response:
        tokens = self.api.worker.settings.koywe_auth_token_list
        if not tokens:
            return error_response(self, 503, "not_configured", "set HOOKLOG_KOYWE_AUTH_TOKENS to enable the callback")
        if not request.get(PEER_TRUSTED) and not bearer_ok(request.headers.get("Authorization"), tokens):
            return error_response(self, 401, "bad_token", "missing or wrong bearer token")
        email = await _email(request)
        if email is None:
            return error_response(self, 400, "bad_request", 'body must be {"email": "<address>"}')
        key = user_key(email)

        async def local(partition: int) -> Response:
            stored = self.api.stored("kyc", partition, key)
            verified = stored is not None and orjson.loads(stored).get("kyc") == "verified"
            return json_response(self, 200, b"true" if verified else b"false")

        return await self.api.router.answer(request, "kyc", key, local)


class DeadLetters(ApiView):
    async def get(self, request: Request) -> Response:
        return await self.api.read(self, request, "dlq", _dead_letter_json)


def bound(view: V, **attrs: Any) -> V:
    """A subclass of `view` holding `attrs` (one worker's API, a table): Faust's `app.page` sets
    the path and name on the class it is given, so each worker gets classes of its own."""
    return type(view.__name__, (view,), attrs)  # type: ignore[return-value]


#: path -> (view, its page name, extra class attributes)
PAGES: tuple[tuple[str, type[View], str | None, dict[str, Any]], ...] = (
    ("/healthz", Health, None, {}),
    ("/readyz", Ready, None, {}),
    ("/metrics", Metrics, None, {}),
    ("/orders/{key}", StateView, "orders-state", {"table": "orders"}),
    ("/kyc/{key}", StateView, "kyc-state", {"table": "kyc", "normalise": staticmethod(user_key)}),
    ("/events/{source}/{key}", ConfiguredSourceState, None, {}),
    ("/kuenta/{family}/{key}", KuentaState, None, {}),
    ("/koywe-payments/{family}/{key}", KoywePaymentsState, None, {}),
    ("/auth/koywe", KoyweAuthCallback, None, {}),
    ("/dlq", DeadLetters, None, {}),
)


def install_views(api: QueryApi) -> None:
    """Guard the worker's web app (deny by default) and add the query views, bound to `api`."""
    worker = api.worker
    app, refusals = worker.app, worker.metrics.api_refusals
    # Deny by default (streams/api/access.py): every path below, Faust's own and later ones need a token.
    guard = api_guard(worker.settings.api_token_list, lambda status: refusals.labels(str(status)).inc(),
                      worker.settings.peer_secret)
    app.web.web_app.middlewares.append(guard)  # type: ignore[attr-defined] - Faust's aiohttp driver
    worker.metrics.watch_owned(lambda: active_partitions(app, worker.topics["raw"].get_topic_name()))
    for path, view, name, attrs in PAGES:
        app.page(path, name=name)(bound(view, api=api, **attrs))
