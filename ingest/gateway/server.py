"""Run the ingest gateway: create topics if the broker is there, serve until SIGTERM/SIGINT.

A signal starts a drain rather than a hard stop: the listener closes, new requests on open
connections get 503 + Retry-After, and the requests already in flight finish, their bodies
still arriving included (aiohttp's own shutdown stops reading from connections at once, which
would turn a half-received body into a 408). Then aiohttp's cleanup runs, which flushes and
stops the producer. So a graceful stop answers every request it had accepted and loses no
acknowledged record. Each request is bounded by the body deadline plus the produce deadline,
and so is the drain.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import uvloop
from aiohttp import web

from floor.kafka.topics import ensure_topics
from floor.logs import configure_logging, get_logger, secrets_of
from floor.settings import Settings
from floor.tls import plain_http_warning, server_tls
from ingest.gateway.app import GATE, create_app
from ingest.gateway.producer import RawProducer
from ingest.senders.sources import build_sources
from schemas.errors import BrokerUnavailableError, ConfigError

log = get_logger("ingest")
SHUTDOWN_MARGIN_S = 5.0


async def build(settings: Settings) -> web.Application:
    sources = build_sources(settings)
    if not sources:
        raise ConfigError("no webhook source has a secret: set HOOKLOG_KOYWE_SECRETS (comma-separated)")
    try:
        await ensure_topics(settings, timeout_s=10)
    except BrokerUnavailableError as exc:
        log.warning("starting without the broker (answering 503 until it is back)", reason=str(exc))
    producer = RawProducer.from_settings(settings)
    return create_app(settings, producer, sources)


def shutdown_timeout(settings: Settings) -> float:
    """Long enough for the slowest request ingest still accepts: body deadline + ack deadline."""
    return settings.body_timeout_s + settings.produce_timeout_s + SHUTDOWN_MARGIN_S


async def drain(app: web.Application, timeout_s: float) -> int:
    """Refuse new webhook requests and wait for the in-flight ones; how many were still left."""
    gate = app[GATE]
    gate.draining = True
    deadline = time.monotonic() + timeout_s
    while gate.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return gate.in_flight


def url(settings: Settings) -> str:
    scheme = "https" if settings.tls_cert_file is not None else "http"
    return f"{scheme}://{settings.ingest_host}:{settings.ingest_port}"


async def run(settings: Settings, *, reuse_port: bool = False) -> None:
    """Serve until SIGTERM/SIGINT, then drain. `reuse_port`: share the port with other ingest
    processes (ingest/gateway/processes.py). With TLS, SIGHUP reloads the certificate (floor/tls.py)."""
    tls = server_tls(settings)  # first: a certificate that does not load stops the start at once
    app = await build(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout(settings))
    await runner.setup()
    site = web.TCPSite(runner, settings.ingest_host, settings.ingest_port, reuse_port=reuse_port or None,
                       ssl_context=tls.context if tls else None)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stop_tls = tls.start(settings.tls_reload_s) if tls else None
    if warning := plain_http_warning(settings.ingest_host, tls):
        log.warning(warning)
    log.info("serving", url=url(settings), sources=sorted(build_sources(settings)),
             max_in_flight=settings.max_in_flight, max_body_bytes=settings.max_body_bytes,
             tls_sha256=tls.fingerprint if tls else None)
    try:
        await stop.wait()
        log.info("stopping: draining in-flight requests", in_flight=app[GATE].in_flight)
        await site.stop()  # no new connections
        left = await drain(app, shutdown_timeout(settings))
        log.info("drained", cut_off=left)
    finally:
        if stop_tls is not None:
            stop_tls()
        await runner.cleanup()  # closes connections, then flushes and stops the producer
    log.info("stopped")


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """`HOOKLOG_INGEST_EVENT_LOOP`: uvloop (the default: less CPU per request in the loop and
    its sockets) or asyncio's own loop."""
    return uvloop.new_event_loop if kind == "uvloop" else asyncio.new_event_loop


def serve(settings: Settings, *, reuse_port: bool = False) -> None:
    configure_logging("ingest", settings.log_level, secrets=secrets_of(settings), log_format=settings.log_format)
    with asyncio.Runner(loop_factory=loop_factory(settings.ingest_event_loop)) as runner:
        runner.run(run(settings, reuse_port=reuse_port))
