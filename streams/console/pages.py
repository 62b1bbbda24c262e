"""The console's pages (aiohttp handlers): each reads through ConsoleData and renders a template."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from floor.settings import Settings
from schemas.errors import AlertActionError, BrokerUnavailableError
from schemas.kuenta import KUENTA_EVENTS
from schemas.orders import OrderStatus
from streams.console import links
from streams.console.auth import Auth
from streams.console.data import PAYMENTS_FAMILIES, ConsoleData, Unavailable, pretty
from streams.console.health import FoldRate, broker_check, ingest_check, metric_total
from streams.order_index.merge import format_cursor, parse_cursor
from streams.console.params import parse_duration, parse_page, parse_since
from streams.console.render import page, redirect
from streams.console.timeline import first_received, timeline
from streams.notify.lifecycle import read_lifecycles
from streams.notify.service import Alerting
from streams.ops.redrive import redrive, redrive_values

ALERT_TYPES = ("order_amount_modified", "order_rejected_by_compliance", "order_crypto_tx_failed", "kyc_review_needed",
               "kyc_rejected", "document_number_updated", "document_number_update_failed", "deposit_without_order",
               "kuenta_payment_failed", "kuenta_payment_refunded", "kuenta_credit_rejected",
               "kuenta_document_expired", "kuenta_validation_failed", "koywe_payments_event_changed",
               "koywe_payments_order_conflict", "koywe_payments_amount_mismatch", "koywe_payments_order_not_created")


def _now() -> datetime:
    return datetime.now(UTC)


class Pages:
    def __init__(self, data: ConsoleData, auth: Auth, settings: Settings, rate: FoldRate, readiness: Any,
                 alerting: Alerting) -> None:
        self.data, self.auth, self.settings, self.rate, self._readiness = data, auth, settings, rate, readiness
        self.alerting = alerting

    def _page(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        return page(template, status, user=request.get("console.session"), csrf=self.auth.csrf(request),
                    alert_url=links.alert_url, pretty=pretty, **context)

    def _unavailable(self, request: web.Request, exc: Unavailable) -> web.Response:
        return page("error.html", 503, {"Retry-After": str(exc.retry_after_s)}, title="Not available right now",
                    message=f"{exc.reason} (retry in {exc.retry_after_s} s)", user=request.get("console.session"),
                    csrf=self.auth.csrf(request))

    def _error(self, request: web.Request, status: int, title: str, message: str) -> web.Response:
        return page("error.html", status, title=title, message=message, user=request.get("console.session"),
                    csrf=self.auth.csrf(request))

    async def _optional(self, reading: Any) -> tuple[Any, str | None]:
        """A panel's data, or why it is not available (the rest of the page still renders)."""
        try:
            return (await reading if asyncio.iscoroutine(reading) else reading()), None
        except Unavailable as exc:
            return None, exc.reason

    # -- pages -------------------------------------------------------------------------------
    async def home(self, request: web.Request) -> web.StreamResponse:
        ingest, broker = await asyncio.gather(ingest_check(self.settings), broker_check(self.settings))
        counts, counts_problem, workers = await self.data.fleet()
        alerts, alerts_problem = await self._optional(self.data.alerts(_now() - timedelta(days=1)))
        dead, dead_problem = await self._optional(self.data.dead_letter_count())
        status = self._readiness(self.data.worker.app)
        registry = self.data.worker.metrics.registry
        return self._page(request, "home.html", ingest=ingest, broker=broker, worker_status=status,
                          workers=workers, rate=self.rate.per_second(),
                          lag=metric_total(registry, "hooklog_worker_consumer_lag"),
                          folded=metric_total(registry, "hooklog_worker_events_folded"),
                          counts=counts, counts_problem=counts_problem, states=list(OrderStatus),
                          alerts=(alerts[0][:10] if alerts else []), alerts_problem=alerts_problem,
                          dead=dead, dead_problem=dead_problem)

    async def search(self, request: web.Request) -> web.StreamResponse:
        query = request.query.get("q", "").strip()
        if not query:
            return redirect("/console/")
        lookups: list[tuple[Any, str]] = [(lambda: self.data.order(query), links.order_url(query)),
                                          (lambda: self.data.user(query), links.user_url(query))]
        lookups += [(lambda f=f: self.data.kuenta(f, query), links.kuenta_url(f, query)) for f in KUENTA_EVENTS]
        lookups += [(lambda f=f: self.data.payments(f, query), links.payments_url(f, query)) for f in PAYMENTS_FAMILIES]
        if "@" in query:
            lookups = lookups[1:2]
        problems = []
        for lookup, url in lookups:
            try:
                if await lookup() is not None:
                    return redirect(url)
            except Unavailable as exc:
                problems.append(exc.reason)
        if problems:
            return self._unavailable(request, Unavailable("; ".join(sorted(set(problems)))))
        return self._error(request, 404, "Nothing found",
                           f"no order, user, Kuenta or Koywe Payments record {query!r} on the worker that owns it")

    async def order(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["order_id"]
        return await self._state_page(request, lambda: self.data.order(key), "order.html", "orders",
                                      lambda state: state.orderId, f"no order {key!r} (yet)")

    async def user(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["user_id"]
        return await self._state_page(request, lambda: self.data.user(key), "user.html", "kyc",
                                      lambda state: state.userId, f"no Koywe user {key!r} (yet)")

    async def kuenta(self, request: web.Request) -> web.StreamResponse:
        family, key = request.match_info["family"], request.match_info["ident"]
        return await self._state_page(request, lambda: self.data.kuenta(family, key), "kuenta.html",
                                      f"kuenta.{family}", lambda state: state.id, f"no Kuenta {family} {key!r} (yet)")

    async def payments(self, request: web.Request) -> web.StreamResponse:
        family, key = request.match_info["family"], request.match_info["ident"]
        return await self._state_page(request, lambda: self.data.payments(family, key), "koywe_payments.html",
                                      f"koywe-payments.{family}", lambda state: state.id,
                                      f"no Koywe Payments {family.removesuffix('s')} {key!r} (yet)")

    async def _state_page(self, request: web.Request, lookup: Any, template: str, table: str, key_of: Any,
                          missing: str) -> web.Response:
        """One aggregate's page: 503 when this worker cannot answer, 404 only when the owner has none."""
        try:
            state = await lookup()
        except ValueError as exc:
            return self._error(request, 404, "Not found", str(exc))
        except Unavailable as exc:
            return self._unavailable(request, exc)
        if state is None:
            return self._error(request, 404, "Not found", missing)
        return await self._aggregate(request, template, table, key_of(state), state, state.history)

    async def _aggregate(self, request: web.Request, template: str, table: str, key: str, state: Any,
                         history: Any) -> web.Response:
        since = first_received(history)
        raw, raw_problem = await self._optional(self.data.raw_events(table, key, since))
        alerts, alerts_problem = await self._optional(
            self.data.alerts((since or _now()) - timedelta(minutes=5), aggregate_id=key))
        return self._page(request, template, state=state, key=key, rows=timeline(history, raw.events if raw else []),
                          raw=raw, raw_problem=raw_problem, alerts=alerts[0] if alerts else [],
                          alerts_problem=alerts_problem)

    async def orders(self, request: web.Request) -> web.StreamResponse:
        state = request.query.get("state", "PENDING")
        try:
            if state not in OrderStatus.__members__.values():
                raise ValueError(f"state must be one of {', '.join(OrderStatus)}")
            older = request.query.get("older_than", "1h")
            before = _now() - timedelta(seconds=parse_duration(older))
            _, size = parse_page(None, request.query.get("size"))
            after = parse_cursor(request.query.get("after"))
        except ValueError as exc:
            return self._error(request, 400, "Bad query", str(exc))
        try:
            found = await self.data.stuck_orders(state, before, after, size)
        except Unavailable as exc:
            return self._unavailable(request, exc)
        return self._page(request, "orders.html", state=state, older_than=older, before=before, found=found,
                          after=after, next_cursor=found.next and format_cursor(found.next), size=size,
                          states=list(OrderStatus), now=_now())

    async def alerts(self, request: web.Request) -> web.StreamResponse:
        wanted = request.query.get("type") or None
        try:
            since = parse_since(request.query.get("since"), _now(), 86400)
        except ValueError as exc:
            return self._error(request, 400, "Bad query", str(exc))
        try:
            alerts, capped = await self.data.alerts(since, wanted)
        except Unavailable as exc:
            return self._unavailable(request, exc)
        alerting = self.alerting
        lifecycles, lifecycles_problem = await self._optional(self._lifecycles())
        return self._page(request, "alerts.html", alerts=alerts[:500], capped=capped or len(alerts) > 500,
                          types=ALERT_TYPES, wanted=wanted, since=request.query.get("since", ""), since_at=since,
                          lifecycles=lifecycles or {}, lifecycles_problem=lifecycles_problem, now=_now(),
                          sinks=sorted(alerting.metrics.sinks.items()),
                          done=request.query.get("done"))

    async def _lifecycles(self) -> Any:
        try:
            return await read_lifecycles(self.settings)
        except BrokerUnavailableError as exc:
            raise Unavailable(str(exc), 5) from exc

    async def act(self, request: web.Request) -> web.StreamResponse:
        """An operator's ack/resolve/silence from the alerts page (the CSRF check is Auth's)."""
        form = await request.post()
        fields = {"forSeconds": form.get("forSeconds"), "reason": form.get("reason")}
        try:
            action = await self.alerting.desk.act(str(form.get("alert", "")), str(form.get("action", "")),
                                                 fields, by="console")
        except AlertActionError as exc:
            return self._error(request, 400, "Bad action", str(exc))
        except BrokerUnavailableError as exc:
            return self._unavailable(request, Unavailable(str(exc), 5))
        return redirect(f"/console/alerts?done={action.action}-{action.alertId}")

    async def dlq(self, request: web.Request) -> web.StreamResponse:
        try:
            since = parse_since(request.query.get("since"), _now(), 30 * 86400)
            letters, capped = await self.data.dead_letters(since)
        except ValueError as exc:
            return self._error(request, 400, "Bad query", str(exc))
        except Unavailable as exc:
            return self._unavailable(request, exc)
        return self._page(request, "dlq.html", letters=letters, capped=capped, since_at=since,
                          done=request.query.get("done"))

    async def redrive(self, request: web.Request) -> web.StreamResponse:
        """One dead letter (partition + offset) or all of them (`hooklog dlq redrive`'s own run)."""
        form = await request.post()
        try:
            if form.get("all") == "1":
                report = await redrive(self.settings, idle_timeout_s=2.0)
            else:
                partition, offset = int(str(form.get("partition"))), int(str(form.get("offset")))
                value = await self.data.dead_letter_value(partition, offset)
                if value is None:
                    return self._error(request, 404, "No such dead letter", f"nothing at {partition}/{offset}")
                report = await redrive_values(self.settings, [value])
        except ValueError:
            return self._error(request, 400, "Bad form", "partition and offset must be whole numbers")
        except Unavailable as exc:
            return self._unavailable(request, exc)
        except Exception as exc:  # noqa: BLE001 - BrokerUnavailableError and aiokafka's own
            return self._unavailable(request, Unavailable(f"redrive failed: {exc}", 5))
        return redirect(f"/console/dlq?done={len(report.redriven)}-redriven-{len(report.skipped)}-skipped")
