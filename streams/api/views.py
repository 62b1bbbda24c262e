"""The worker's query API (Faust's aiohttp web server): local tables and bounded topic reads.

A key's view (`/orders`, `/kyc`, `/kuenta`, `/koywe-payments`, `/events`, `/auth/koywe`) is routed
(streams/api/forward.py): answered from this worker's active, recovered partition of the key,
forwarded once to the owner, or 503 + Retry-After; a 404 only from the owner. Faust's own
`table_route`/web tables stay off (they hash the JSON key and drop bodies). Every view except
`/healthz`, `/readyz`, `/metrics` and `/auth/koywe` needs an API bearer token
(streams/api/access.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from datetime import datetime
from typing import Any

import orjson
from faust.web import Request, Response, View

from floor.kafka.topic_reader import read_range
from floor.responses import error_body
from floor.tls import peer_context
from schemas.deadletter import decode_dead_letter
from schemas.errors import BrokerUnavailableError, EnvelopeError
from schemas.koywe_users import user_key
from schemas.times import parse_time
from streams.api.access import api_guard, bearer_ok
from streams.api.alerts import install_alert_views
from streams.api.forward import Forwarder, Router
from streams.api.readiness import readiness
from streams.api.routing import WorkerView
from streams.console.install import install_console
from streams.notify.install import install_alerting
from floor.kafka.topic_reader import read_range
from streams.kafka.seam import active_partitions, owner_urls, read_in_partition
from streams.worker.handle import Worker
from streams.worker.waiters import DELIVERY_ID, MAX_WAIT_S, TooManyWaitersError, holds_delivery

MAX_LIMIT = 1000


def _json(view: View, status: int, body: bytes) -> Response:
    return view.bytes(body, content_type="application/json", status=status)


def _error(view: View, status: int, code: str, detail: str) -> Response:
    return _json(view, status, error_body(code, detail))


def _query(request: Request) -> tuple[datetime | None, int, str | None]:
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


def install_views(worker: Worker) -> None:  # noqa: C901 - one small view per endpoint
    app, settings = worker.app, worker.settings
    refusals = worker.metrics.api_refusals
    # Deny by default (streams/api/access.py): every path below, Faust's own and later ones need a token.
    guard = api_guard(settings.api_token_list, lambda status: refusals.labels(str(status)).inc())
    app.web.web_app.middlewares.append(guard)  # type: ignore[attr-defined] - Faust's aiohttp driver

    own_url = str(app.conf.canonical_url)
    changelogs = {name: table.changelog_topic.get_topic_name() for name, table in worker.tables.items()}

    def view_of(table: str) -> WorkerView:
        changelog = changelogs[table]
        return WorkerView(readiness(app, worker.health), own_url, active_partitions(app, changelog), owner_urls(app, changelog),
                          settings.partitions)

    forwarder = Forwarder(own_url, settings.forward_timeout_s, lambda outcome: worker.metrics.forwarded.labels(outcome).inc(),
                          peer_context(settings))
    router = Router(view_of, settings.partitions, forwarder, lambda reason: worker.metrics.unavailable.labels(reason).inc())
    worker.router = router
    worker.metrics.watch_owned(lambda: active_partitions(app, worker.topics["raw"].get_topic_name()))

    async def close_forwarder(web_app: Any) -> None:
        await forwarder.close()

    app.web.web_app.on_cleanup.append(close_forwarder)  # type: ignore[attr-defined] - Faust's aiohttp driver

    async def answer_state(view: View, request: Request, table: str, key: str, missing: str) -> Response:
        """The stored state; with `?delivery=<id>[&wait=<s>]`, once that delivery is folded into it."""
        delivery = request.query.get("delivery")
        wait_s = 0.0
        if delivery is not None:
            try:
                wait_s = float(request.query.get("wait", "10"))
            except ValueError:
                wait_s = -1.0
            if not DELIVERY_ID.fullmatch(delivery) or not 0 <= wait_s <= MAX_WAIT_S:
                return _error(view, 400, "bad_request",
                              f"delivery must be an ingest delivery id (32 hex digits), wait 0..{MAX_WAIT_S:.0f} seconds")

        async def local(partition: int) -> Response:
            if delivery is None:
                stored = read_in_partition(worker.tables[table], partition, key)
                return _error(view, 404, "not_found", missing) if stored is None else _json(view, 200, stored)
            return await answer_delivery(view, table, key, partition, delivery, wait_s)

        return await router.answer(request, table, key, local, extra_s=wait_s)

    async def answer_delivery(view: View, table: str, key: str, partition: int, delivery: str, wait_s: float) -> Response:
        try:
            with worker.waiters.expecting(table, key, delivery) as folded:
                stored = read_in_partition(worker.tables[table], partition, key)
                done = holds_delivery(stored, delivery)
                if not done and wait_s > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(folded), wait_s)
                        done = True  # folded now, even a repeat that left the history as it was
                    moved = router.still_local(table, partition)
                    if moved is not None:  # revoked or rebalancing while waiting: not this worker's answer
                        return router.refuse(moved)
                    stored = read_in_partition(worker.tables[table], partition, key)
        except TooManyWaitersError as exc:
            return _error(view, 503, "overloaded", str(exc))
        if not done or stored is None:
            return _error(view, 404, "not_folded", f"delivery {delivery} is not folded into {key!r} after {wait_s:g} s")
        return _json(view, 200, stored)

    def table_view(path: str, table: str, normalise: Any = str) -> None:
        class StateView(View):
            async def get(self, request: Request, key: str) -> Response:
                return await answer_state(self, request, table, normalise(key), f"no {table} state for {key!r} (yet)")

        app.page(path, name=f"{table}-state")(StateView)

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return _json(self, 200, b'{"status":"ok"}')

    @app.page("/readyz")
    class Ready(View):
        """200 once this worker can serve or forward any key: tables restored, not rebalancing or
        recovering, every partition's owner known; the body shows the group's assignment."""

        async def get(self, request: Request) -> Response:
            view = view_of("orders")
            status = view.ready
            body = {"status": status, **({"reason": worker.health.reason} if worker.health.reason else {}),
                    "worker": own_url, "workerId": settings.worker_id,
                    "active": sorted(view.active), "owners": {str(p): u for p, u in sorted(view.owners.items())}}
            return _json(self, 200 if status == "ready" else 503, orjson.dumps(body))

    @app.page("/metrics")
    class Metrics(View):
        """Prometheus text format; open, and holds no secret or payload."""

        async def get(self, request: Request) -> Response:
            body, content_type = worker.metrics.exposition()
            return self.bytes(body, headers={"Content-Type": content_type})

    table_view("/orders/{key}", "orders")
    table_view("/kyc/{key}", "kyc", user_key)

    @app.page("/events/{source}/{key}")
    class ConfiguredSourceState(View):
        async def get(self, request: Request, source: str, key: str) -> Response:
            return await answer_state(self, request, "events", f"{source}:{key}", f"no {source} aggregate {key!r} (yet)")

    @app.page("/kuenta/{family}/{key}")
    class KuentaState(View):
        async def get(self, request: Request, family: str, key: str) -> Response:
            if f"kuenta.{family}" not in worker.tables:
                return _error(self, 404, "not_found", "family must be credit, payment, document or validation")
            return await answer_state(self, request, f"kuenta.{family}", key, f"no Kuenta {family} {key!r} (yet)")

    @app.page("/koywe-payments/{family}/{key}")
    class KoywePaymentsState(View):
        """Koywe Payments API resources: orders, contacts, merchants, invitations (by `data.id`)."""

        async def get(self, request: Request, family: str, key: str) -> Response:
            if f"koywe-payments.{family}" not in worker.tables:
                return _error(self, 404, "not_found", "family must be orders, contacts, merchants or invitations")
            return await answer_state(self, request, f"koywe-payments.{family}", key,
                                      f"no Koywe Payments {family.removesuffix('s')} {key!r} (yet)")

    @app.page("/auth/koywe")
    class KoyweAuthCallback(View):
        """Koywe asks before a user buys, sells or reads private data: `true` iff KYC is verified."""

        async def post(self, request: Request) -> Response:
            if not settings.koywe_auth_token_list:
                return _error(self, 503, "not_configured", "set HOOKLOG_KOYWE_AUTH_TOKENS to enable the callback")
            if not bearer_ok(request.headers.get("Authorization"), settings.koywe_auth_token_list):
                return _error(self, 401, "bad_token", "missing or wrong bearer token")
            try:
                email = orjson.loads(await request.read()).get("email")
            except (orjson.JSONDecodeError, AttributeError):
                email = None
            if not isinstance(email, str) or "@" not in email:
                return _error(self, 400, "bad_request", 'body must be {"email": "<address>"}')
            key = user_key(email)

            async def local(partition: int) -> Response:
                stored = read_in_partition(worker.tables["kyc"], partition, key)
                verified = stored is not None and orjson.loads(stored).get("kyc") == "verified"
                return _json(self, 200, b"true" if verified else b"false")

            return await router.answer(request, "kyc", key, local)

    async def _read(view: View, request: Request, topic: str, pick: Any, keep: Any = None) -> Response:
        try:
            since, limit, wanted = _query(request)
        except ValueError as exc:
            return _error(view, 400, "bad_request", str(exc))
        found: dict[str, Any] = {}
        try:
            async for batch in read_range(settings, settings.topic(topic), since=since):
                for record in batch:
                    item = pick(record.value)
                    if (wanted is None or item.get("type") == wanted) and (keep is None or keep(item)):
                        found.setdefault(record.key.decode() if record.key else str(record.offset), item)
        except BrokerUnavailableError as exc:
            return _error(view, 503, "broker_unavailable", str(exc))
        items = list(found.values())[-limit:]
        return _json(view, 200, orjson.dumps({"items": items, "count": len(items)}))

    install_alert_views(worker, _read)  # GET /alerts?state=, POST /alerts/{id}/ack|resolve|silence

    @app.page("/dlq")
    class DeadLetters(View):
        async def get(self, request: Request) -> Response:
            return await _read(self, request, "dlq", _dead_letter_json)

    worker.alerting = install_alerting(worker)  # alerts' lifecycle and notifiers (streams/notify)
    worker.console = install_console(worker)
