"""`POST /webhooks/{source}`: limit, parse, verify, wrap, produce, and only then answer 2xx.

Checks run cheapest first, and all but the last three before the body is parsed: draining and
capacity (503, `webhook`), then in `receive` the source (404), its rate limit (429, before
the body is read), content type (415), body size (413) and read deadline (408), nesting depth
(400); then the body is parsed once (400 if it is no JSON object) and that one result goes to
the signature check (401; 429 beyond the failed-signature limit of the client's address) and
to routing (400). Every error answer, aiohttp's own included, is a small JSON
`{"error": code, "detail": text}` without secrets or stack traces.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache, partial
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import orjson
from aiohttp import web

from floor.logs import LineLogger
from floor.responses import json_error
from floor.settings import Settings
from ingest.gateway.clients import ClientAddress
from ingest.gateway.fallbacks import add_fallbacks, guarded
from ingest.gateway.limits import content_type_ok, too_deep
from ingest.gateway.metrics import IngestMetrics
from ingest.gateway.oauth import token_handler
from ingest.gateway.producer import RawProducer
from ingest.gateway.ratelimit import Clock, GateLimits, retry_after
from ingest.gateway.readiness import BrokerProbe
from ingest.senders.sources import Route, Source
from schemas.envelope import new_envelope, utcnow
from schemas.errors import BrokerUnavailableError, DecodeError, SignatureError
from schemas.jsonbody import load_object

log = LineLogger("ingest")  # a line per request: the cheap path (floor/logs.py)


@dataclass
class Gate:
    """Webhook requests being handled now; beyond `limit` new ones get 503 at once. While
    `draining` (SIGTERM received) new ones get 503 too, and the ones in flight finish."""

    limit: int
    in_flight: int = 0
    draining: bool = False


SOURCES: web.AppKey[dict[str, Source]] = web.AppKey("sources", dict)
PRODUCER: web.AppKey[RawProducer] = web.AppKey("producer", RawProducer)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock", object)  # type: ignore[arg-type]
METRICS: web.AppKey[IngestMetrics] = web.AppKey("metrics", IngestMetrics)
PROBE: web.AppKey[BrokerProbe] = web.AppKey("probe", BrokerProbe)
GATE: web.AppKey[Gate] = web.AppKey("gate", Gate)
LIMITS: web.AppKey[GateLimits] = web.AppKey("limits", GateLimits)
CLIENTS: web.AppKey[ClientAddress] = web.AppKey("clients", ClientAddress)

AUDIT_HEADERS = ("Content-Type", "User-Agent")  # kept in every envelope, besides a source's own


def _retry_after(request: web.Request) -> dict[str, str]:
    return {"Retry-After": str(request.app[SETTINGS].retry_after_s)}


def _source_name(request: web.Request) -> str:
    """The path's source segment: the `{source}` of the catch-all route, or the last segment of
    a source's own plain route (unchecked: attacker-chosen on the catch-all)."""
    return request.match_info.get("source") or request.path.rpartition("/")[2]


def _source_label(request: web.Request) -> str:
    """A metrics/log label that is never attacker-chosen text."""
    name = _source_name(request)
    return name if name in request.app[SOURCES] else "unknown"


def _refuse(request: web.Request, status: int, code: str, detail: str,
            headers: dict[str, str] | None = None, *, reason: str | None = None) -> web.Response:
    """An error answer, logged; `reason` is for the log only (what the operator needs to know)."""
    log.info("refused", source=_source_label(request), status=status, error=code, detail=(reason or detail)[:200])
    return json_error(status, code, detail, headers)


@lru_cache(maxsize=256)
def _kept_names(extra: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(name, lower-case name) of every header kept for a source: built once, not per request."""
    return tuple((name, name.lower()) for name in (*AUDIT_HEADERS, *extra))


def kept_headers(headers: Mapping[str, str], source: Source) -> dict[str, str]:
    """The request headers the envelope keeps for audit, by lower-case name."""
    return {lower: value for name, lower in _kept_names(source.kept_headers)
            if (value := headers.get(name)) is not None}


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds `limit` (never buffers more than limit + a chunk)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: web.Request, limit: int, timeout_s: float) -> bytes | None:
    """`read_limited` within `timeout_s` (TimeoutError after). A body that has fully arrived
    (the usual case: it came with the headers) is taken from the buffer at once: it cannot
    stall, so it needs no timer and no read loop."""
    content = request.content
    if content.is_eof():
        body = content.read_nowait()
        return body if len(body) <= limit else None
    async with asyncio.timeout(timeout_s):
        return await read_limited(request, limit)


async def receive(request: web.Request, source_name: str | None = None) -> web.Response:
    """The source and its rate limit, before the body is read; a request that does not prove to
    be the source's (its signature never verified) gives its token back (ingest/gateway/ratelimit.py).
    `source_name`: bound by a source's own route; else the catch-all's `{source}`."""
    app = request.app
    name = source_name or request.match_info["source"]
    source = app[SOURCES].get(name)
    if source is None:
        return _refuse(request, 404, "unknown_source", "no such webhook source (or it has no secret configured)")
    bucket = app[LIMITS].sources[name]
    wait = bucket.take()
    if wait:
        app[METRICS].limited(name, "rate")
        return _refuse(request, 429, "rate_limited",
                       f"{name} is over its rate limit ({bucket.rate:g}/s, burst {bucket.burst:g}) in this ingest "
                       f"process; retry in {retry_after(wait)}s", {"Retry-After": retry_after(wait)})
    signed = False
    try:
        response, signed = await _receive_body(request, source)
    finally:
        if not signed:
            bucket.give_back()
    return response


async def _receive_body(request: web.Request, source: Source) -> tuple[web.Response, bool]:
    """Read, parse once, verify, route, store; the answer, and whether the signature verified."""
    app = request.app
    settings = app[SETTINGS]
    if not content_type_ok(request.headers.get("Content-Type")):
        return _refuse(request, 415, "unsupported_media_type", "send Content-Type: application/json (UTF-8)"), False
    try:
        body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
    except TimeoutError:
        response = _refuse(request, 408, "request_timeout", f"the body did not arrive within {settings.body_timeout_s}s")
        # Send it, then close: aiohttp would otherwise linger up to 10 s draining a slow body.
        await response.prepare(request)
        await response.write_eof()
        if request.transport is not None:
            request.transport.close()
        return response, False
    if body is None or len(body) > settings.max_body_bytes:
        return _refuse(request, 413, "body_too_large", f"the body exceeds {settings.max_body_bytes} bytes"), False
    if too_deep(body, settings.max_json_depth):
        return _refuse(request, 400, "too_deep", f"JSON nests deeper than {settings.max_json_depth} levels"), False
    try:
        doc = load_object(body)  # the one parse: the verifier and the router both use `doc`
    except DecodeError as exc:
        return _refuse(request, 400, "bad_request", str(exc)), False
    try:
        source.verify(body, doc, request.headers)
    except SignatureError as exc:
        return _signature_failed(request, exc), False
    try:
        route = source.route(doc, request.headers)
    except DecodeError as exc:
        return _refuse(request, 400, "bad_request", str(exc)), True
    return await _store(request, source, body, route), True


def _signature_failed(request: web.Request, exc: SignatureError) -> web.Response:
    """401 with the reason, or 429 (same reason) beyond the failed-signature limit of the
    client's address. Either way nothing is stored; a validly signed request is never refused."""
    app = request.app
    name = _source_name(request)
    app[METRICS].signature_failures.labels(name).inc()
    wait = app[LIMITS].failures.failed(app[CLIENTS].resolve(request))
    if not wait:
        return _refuse(request, 401, "bad_signature", str(exc))
    app[METRICS].limited(name, "failed_signatures")
    return _refuse(request, 429, "failed_signatures_limited",
                   f"{exc}; too many failed signatures from this address, retry in {retry_after(wait)}s",
                   {"Retry-After": retry_after(wait)})


async def _store(request: web.Request, source: Source, body: bytes, route: Route) -> web.Response:
    """Wrap the body in an envelope and answer 200 once the broker acked it (503 if not)."""
    app = request.app
    envelope = new_envelope(
        source=source.name, key=route.key, event_name=route.event_name, body=body, received_at=app[CLOCK](),
        occurred_at=route.occurred_at, headers=kept_headers(request.headers, source),
    )
    started = time.perf_counter()
    try:
        position = await app[PRODUCER].send(envelope)
    except BrokerUnavailableError as exc:
        app[METRICS].produce_seconds.labels("error").observe(time.perf_counter() - started)
        return _refuse(request, 503, "broker_unavailable", "the event log did not store this event; retry later",
                       _retry_after(request), reason=str(exc))
    elapsed = time.perf_counter() - started
    app[METRICS].produce_acked.observe(elapsed)
    log.info("stored", event_id=envelope.id, source=source.name, aggregate_id=route.key, event_name=route.event_name,
             produce_ms=round(elapsed * 1000, 2))
    return web.Response(
        status=200, body=orjson.dumps({"id": envelope.id, "status": "stored", "key": route.key, "position": position}),
        content_type="application/json",
    )


async def webhook(request: web.Request, source_name: str | None = None) -> web.StreamResponse:
    """A webhook route's handler, `guarded` (no middleware, ingest/gateway/fallbacks.py): the gate
    bounds webhook requests (503 + Retry-After beyond the limit, or while draining) and counts
    their answers; then `receive`. A handler that raises is answered 500 and not counted."""
    app = request.app
    gate = app[GATE]
    if gate.draining:
        response: web.StreamResponse = _refuse(request, 503, "shutting_down", "ingest is stopping; retry later",
                                                _retry_after(request))
        response.force_close()
    elif gate.in_flight >= gate.limit:
        response = _refuse(request, 503, "overloaded", f"more than {gate.limit} requests in flight; retry later",
                           _retry_after(request))
    else:
        gate.in_flight += 1
        try:
            response = await receive(request, source_name)
        finally:
            gate.in_flight -= 1
    app[METRICS].answered(_source_label(request), response.status)
    return response


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers (the broker may be away: that is readiness)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: a broker answered just now and the producer is connected."""
    app = request.app
    ready = not app[GATE].draining and await app[PROBE].ready() and (app[PRODUCER].ready or await app[PRODUCER].start())
    app[METRICS].broker_ready.set(1 if ready else 0)
    if ready:
        return web.json_response({"status": "ready"})
    return json_error(503, "not_ready", str(BrokerUnavailableError.unreachable(app[SETTINGS].kafka_bootstrap_servers)),
                      headers=_retry_after(request))


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; open like /healthz, and holds no secret or payload."""
    body, content_type = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


def create_app(
    settings: Settings, producer: RawProducer, sources: dict[str, Source],
    clock: Callable[[], datetime] = utcnow, monotonic: Clock = time.monotonic,
) -> web.Application:
    """The gateway; `clock` stamps envelopes, `monotonic` drives the rate limits' buckets."""
    app = web.Application(client_max_size=settings.max_body_bytes)  # no middleware: ingest/gateway/fallbacks.py
    app[SETTINGS], app[PRODUCER], app[SOURCES], app[CLOCK] = settings, producer, sources, clock
    app[LIMITS] = GateLimits(settings, sources, monotonic)
    app[CLIENTS] = ClientAddress(settings.trusted_proxy_networks)
    app[METRICS], app[GATE] = IngestMetrics(), Gate(settings.max_in_flight)
    app[METRICS].watch_in_flight(lambda: app[GATE].in_flight)
    app[PROBE] = BrokerProbe(settings, timeout_s=min(2.0, settings.produce_timeout_s),
                             cache_s=settings.ready_cache_s)
    for name in sources:  # a plain route per source: a dict lookup, no pattern match per request
        app.router.add_post(f"/webhooks/{name}", guarded(partial(webhook, source_name=name)))
    app.router.add_post("/webhooks/{source}", guarded(webhook))  # any other name: 404 unknown_source
    if settings.kuenta_auth != "signature" and settings.kuenta_token_client_map:  # Kuenta's token mode
        app.router.add_post("/oauth/token", guarded(token_handler(
            settings, app[LIMITS].failures, app[CLIENTS], app[METRICS], lambda: clock().timestamp())))
    app.router.add_get("/healthz", guarded(healthz))
    app.router.add_get("/readyz", guarded(readyz))
    app.router.add_get("/metrics", guarded(metrics))
    add_fallbacks(app.router)  # 405 on each path, 404 elsewhere, as JSON

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        await producer.start()
        yield
        await producer.stop()

    app.cleanup_ctx.append(lifecycle)
    return app
