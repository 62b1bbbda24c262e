"""`hooklog notify`: the notifiers alone (with `HOOKLOG_NOTIFY_IN_WORKER=false` on the workers),
e.g. to keep outbound HTTP off the fold machines; `/metrics` and `/healthz` on its own port."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from floor.logs import configure_logging, get_logger, secrets_of
from floor.kafka.topics import ensure_topics
from schemas.envelope import utcnow
from schemas.errors import ConfigError
from floor.settings import Settings
from streams.notify.service import Alerting


async def serve_notify(settings: Settings, host: str, port: int) -> None:
    registry = CollectorRegistry()
    alerting = Alerting(settings, registry, utcnow, fold=False, notify=True)
    if not alerting.sinks:
        raise ConfigError("HOOKLOG_NOTIFY names no sink: nothing to notify (docs/alerts.md)")
    await ensure_topics(settings)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "sinks": [s.label for s in alerting.sinks]})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", health)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    get_logger("notify").info("starting", sinks=[s.label for s in alerting.sinks], metrics=f"http://{host}:{port}/metrics")
    task = asyncio.ensure_future(alerting.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await runner.cleanup()


def run_notify(settings: Settings, host: str, port: int) -> None:
    configure_logging("notify", settings.log_level, secrets=secrets_of(settings), log_format=settings.log_format)
    asyncio.run(serve_notify(settings, host, port))
