"""Ingest's HTTP ceiling: the same aiohttp server and route answering 200 with no work.

    python -m bench.nullserver --port 8099

Same aiohttp settings as `ingest.gateway.server` (no access log, no middleware) and the same event loop
(`HOOKLOG_INGEST_EVENT_LOOP`, uvloop by default, through `ingest.gateway.server.loop_factory`), same
route, the body read in full; no parsing, no signature check, no Kafka. The ingest benchmark's
baseline (a).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from aiohttp import web

from floor.settings import Settings
from ingest.gateway.server import loop_factory

ANSWER = b'{"id":"0","status":"stored","key":"k"}'


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=200, body=ANSWER, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application(client_max_size=1_048_576)
    app.router.add_post("/webhooks/{source}", receive)
    app.router.add_get("/healthz", healthz)
    return app


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.nullserver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--event-loop", choices=("uvloop", "asyncio"),
                        default=os.environ.get("HOOKLOG_INGEST_EVENT_LOOP", Settings.model_fields["ingest_event_loop"].default))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    loop = loop_factory(args.event_loop)()
    asyncio.set_event_loop(loop)
    web.run_app(create_app(), host=args.host, port=args.port, print=None, access_log=None, loop=loop)


if __name__ == "__main__":
    main()
