"""`POST /webhooks/{source}`: limit, parse, verify, wrap, produce, and only then answer 2xx."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import orjson
from aiohttp import web

from ingest.producer import RawProducer
from ingest.sources import Source, parse_object
from schemas.envelope import new_envelope, utcnow
from schemas.errors import BrokerUnavailableError, DecodeError, SignatureError
from schemas.settings import Settings

SOURCES: web.AppKey[dict[str, Source]] = web.AppKey("sources", dict)
PRODUCER: web.AppKey[RawProducer] = web.AppKey("producer", RawProducer)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock", object)  # type: ignore[arg-type]


def error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    """Every error answer: small JSON, no secret, no stack trace."""
    return web.Response(
        status=status, body=orjson.dumps({"error": code, "detail": detail}),
        content_type="application/json", headers=headers,
    )


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


async def receive(request: web.Request) -> web.Response:
    app = request.app
    source = app[SOURCES].get(request.match_info["source"])
    if source is None:
        return error(404, "unknown_source", "no such webhook source (or it has no secret configured)")
    settings = app[SETTINGS]
    body = await read_limited(request, settings.max_body_bytes)
    if body is None or len(body) > settings.max_body_bytes:
        return error(413, "body_too_large", f"the body exceeds {settings.max_body_bytes} bytes")
    try:
        doc = parse_object(body)
        source.verify(body, request.headers)
        event_name, key, occurred_at = source.route(doc, request.headers)
    except SignatureError as exc:
        return error(401, "bad_signature", str(exc))
    except DecodeError as exc:
        return error(400, "bad_request", str(exc))
    envelope = new_envelope(
        source=source.name, key=key, event_name=event_name, body=body, received_at=app[CLOCK](),
        occurred_at=occurred_at,
        headers={name.lower(): request.headers[name] for name in ("Content-Type", "User-Agent", *source.kept_headers)
                 if name in request.headers},
    )
    try:
        await app[PRODUCER].send(envelope)
    except BrokerUnavailableError as exc:
        retry = str(settings.retry_after_s)
        return error(503, "broker_unavailable", f"{exc}; retry later", headers={"Retry-After": retry})
    return web.Response(
        status=200, body=orjson.dumps({"id": envelope.id, "status": "stored", "key": key}),
        content_type="application/json",
    )


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the producer can reach the broker."""
    producer = request.app[PRODUCER]
    if producer.ready or await producer.start():
        return web.json_response({"status": "ready"})
    return error(503, "not_ready", "Kafka is not reachable", headers={"Retry-After": str(request.app[SETTINGS].retry_after_s)})


def create_app(
    settings: Settings, producer: RawProducer, sources: dict[str, Source],
    clock: Callable[[], datetime] = utcnow,
) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS], app[PRODUCER], app[SOURCES], app[CLOCK] = settings, producer, sources, clock
    app.router.add_post("/webhooks/{source}", receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        await producer.start()
        yield
        await producer.stop()

    app.cleanup_ctx.append(lifecycle)
    return app
