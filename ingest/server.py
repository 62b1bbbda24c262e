"""Run the ingest gateway: create topics if the broker is there, serve until SIGTERM/SIGINT.

aiohttp's `run_app` finishes in-flight requests on a signal and then runs the cleanup that
flushes and stops the producer, so a graceful stop loses no acknowledged record.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ingest.app import create_app
from ingest.producer import RawProducer
from ingest.sources import build_sources
from ingest.topics import ensure_topics
from schemas.errors import BrokerUnavailableError, ConfigError
from schemas.settings import Settings

log = logging.getLogger("hooklog.ingest")


async def build(settings: Settings) -> web.Application:
    sources = build_sources(settings)
    if not sources:
        raise ConfigError("no webhook source has a secret: set HOOKLOG_KOYWE_SECRETS (comma-separated)")
    try:
        await ensure_topics(settings, timeout_s=10)
    except BrokerUnavailableError as exc:
        log.warning("starting without the broker (answering 503 until it is back): %s", exc)
    producer = RawProducer(settings.kafka_bootstrap_servers, settings.topic("raw"),
                           ack_timeout_s=settings.produce_timeout_s)
    return create_app(settings, producer, sources)


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.info("ingest on http://%s:%s, sources: %s", settings.ingest_host, settings.ingest_port,
             ", ".join(build_sources(settings)) or "none")
    web.run_app(build(settings), host=settings.ingest_host, port=settings.ingest_port,
                print=None, shutdown_timeout=10, access_log=None)
