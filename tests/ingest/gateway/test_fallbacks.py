"""aiohttp's own errors as hooklog's JSON with no middleware in the request path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from floor.settings import Settings
from ingest.gateway.app import create_app
from ingest.gateway.fallbacks import add_fallbacks, guarded
from ingest.gateway.producer import RawProducer
from ingest.senders.sources import build_sources
from tests.kafka_fixtures import SECRET

pytestmark = pytest.mark.unit


async def fails(request: web.Request) -> web.Response:
    raise RuntimeError(f"internal detail {SECRET}")


async def gone(request: web.Request) -> web.Response:
    raise web.HTTPGone()


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = web.Application()
    app.router.add_get("/ok", guarded(lambda request: _ok()))
    app.router.add_post("/fails", guarded(fails))
    app.router.add_get("/gone", guarded(gone))
    add_fallbacks(app.router)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def _ok() -> web.Response:
    return web.json_response({"status": "ok"})


async def test_405_names_the_allowed_methods_as_aiohttp_does(client: TestClient) -> None:
    response = await client.post("/ok")
    assert response.status == 405 and response.headers["Allow"] == "GET,HEAD"
    assert await response.json() == {"error": "method_not_allowed", "detail": "Method Not Allowed"}
    assert (await client.get("/ok")).status == 200 and (await client.head("/ok")).status == 200


async def test_any_other_path_is_a_json_404(client: TestClient) -> None:
    for path in ("/", "/nope", "/ok/x", "/../etc/passwd"):
        response = await client.request("PATCH", path)
        assert (response.status, (await response.json())["error"]) == (404, "not_found"), path


async def test_what_a_handler_raises_is_json_without_internals(client: TestClient) -> None:
    response = await client.post("/fails")
    assert (response.status, await response.json()) == (
        500, {"error": "internal_error", "detail": "unexpected error; it has been logged"})
    response = await client.get("/gone")
    assert (response.status, (await response.json())["error"]) == (410, "http_error")


async def test_ingest_runs_no_middleware() -> None:
    settings = Settings(koywe_secrets=SECRET)
    producer = RawProducer(Settings(kafka_bootstrap_servers="127.0.0.1:9"), "t", ack_timeout_s=1)
    app = create_app(settings, producer, build_sources(settings))
    assert list(app.middlewares) == []
