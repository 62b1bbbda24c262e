"""Access control of the worker's HTTP API: bearer tokens with rotation, deny by default, open
health and metrics, JSON errors. Unit tests run the real middleware on a bare aiohttp app; the
kafka test runs `hooklog worker` itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from streams.api.access import PEER, PEER_TRUSTED, api_guard, bearer_ok
from tests.kafka_fixtures import System

TOKENS = (SecretStr("old-token"), SecretStr("new-token-that-is-longer"))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("header", "ok"),
    [("Bearer old-token", True), ("Bearer new-token-that-is-longer", True), ("bearer old-token", True),
     ("Bearer  old-token ", True), (None, False), ("", False), ("Bearer", False), ("Bearer ", False),
     ("Basic old-token", False), ("Bearer old-token2", False), ("Bearer old-toke", False), ("old-token", False),
     ("Bearer new-token", False)],
)
def test_bearer_tokens(header: str | None, ok: bool) -> None:
    assert bearer_ok(header, TOKENS) is ok


@pytest.mark.unit
def test_no_configured_token_accepts_nothing() -> None:
    assert not bearer_ok("Bearer ", ()) and not bearer_ok("Bearer x", ()) and not bearer_ok("Bearer x", (SecretStr(""),))


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path})


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("internal detail that must not leak")


async def guarded_client(tokens: tuple[SecretStr, ...], refused: list[int]) -> TestClient:
    app = web.Application(middlewares=[api_guard(tokens, refused.append)])
    for path in ("/healthz", "/readyz", "/metrics", "/orders/{key}", "/dlq", "/"):
        app.router.add_get(path, ok)
    app.router.add_post("/auth/koywe", ok)
    app.router.add_get("/boom", boom)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[TestClient, list[int]]]:
    refused: list[int] = []
    client = await guarded_client(TOKENS, refused)
    yield client, refused
    await client.close()


async def status_and_json(response: aiohttp.ClientResponse) -> tuple[int, Any]:
    return response.status, await response.json()


@pytest.mark.unit
async def test_everything_but_health_metrics_and_the_callback_needs_a_token(guarded: tuple[TestClient, list[int]]) -> None:
    client, refused = guarded
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status == 200
    assert (await client.post("/auth/koywe")).status == 200  # its own token, checked by its view
    for path in ("/orders/o-1", "/dlq", "/", "/no/such/thing"):
        response = await client.get(path)
        status, body = await status_and_json(response)
        assert (status, body["error"]) == (401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused == [401] * 4
    for token in ("old-token", "new-token-that-is-longer"):
        response = await client.get("/orders/o-1", headers={"Authorization": f"Bearer {token}"})
        assert await status_and_json(response) == (200, {"path": "/orders/o-1"})
    assert (await client.get("/dlq", headers={"Authorization": "Bearer nope"})).status == 401


@pytest.mark.unit
async def test_errors_behind_the_guard_are_json_and_say_nothing_inside(guarded: tuple[TestClient, list[int]]) -> None:
    client, _ = guarded
    auth = {"Authorization": "Bearer old-token"}
    assert (await status_and_json(await client.get("/no/such/thing", headers=auth)))[1]["error"] == "not_found"
    response = await client.post("/dlq", headers=auth)
    assert response.status == 405 and "GET" in response.headers["Allow"]
    status, body = await status_and_json(await client.get("/boom", headers=auth))
    assert (status, body["error"]) == (500, "internal_error") and "internal detail" not in body["detail"]


@pytest.mark.unit
async def test_a_worker_holding_the_peer_secret_stands_in_for_the_callers_token() -> None:
    app = web.Application(middlewares=[api_guard(TOKENS, peer_secret=SecretStr("peer-secret-of-the-group"))])

    async def trusted(request: web.Request) -> web.Response:
        return web.json_response({"peer": bool(request.get(PEER_TRUSTED))})

    app.router.add_get("/orders/{key}", trusted)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert await status_and_json(await client.get("/orders/o", headers={PEER: "peer-secret-of-the-group"})) == (
            200, {"peer": True})
        assert (await client.get("/orders/o", headers={PEER: "peer-secret-guessed"})).status == 401
        assert await status_and_json(await client.get("/orders/o", headers={"Authorization": "Bearer old-token"})) == (
            200, {"peer": False})
    finally:
        await client.close()
    unset = web.Application(middlewares=[api_guard(TOKENS)])  # no secret configured: no header is a peer's
    unset.router.add_get("/orders/{key}", trusted)
    client = TestClient(TestServer(unset))
    await client.start_server()
    try:
        assert (await client.get("/orders/o", headers={PEER: ""})).status == 401
    finally:
        await client.close()


@pytest.mark.unit
async def test_unset_tokens_close_the_api_with_a_clear_answer() -> None:
    refused: list[int] = []
    client = await guarded_client((), refused)
    try:
        status, body = await status_and_json(await client.get("/orders/o-1", headers={"Authorization": "Bearer "}))
        assert (status, body["error"]) == (503, "not_configured") and "HOOKLOG_API_TOKENS" in body["detail"]
        assert (await client.get("/healthz")).status == 200
        assert refused == [503]
    finally:
        await client.close()


@pytest.mark.kafka
async def test_the_worker_api_wants_one_of_the_rotated_tokens(run_system: Callable[..., System]) -> None:
    system = run_system("worker", api_tokens="old-token, new-token-that-is-longer")
    url = system.worker_url
    async with aiohttp.ClientSession() as session:
        async def get(path: str, token: str | None = None) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with session.get(url + path, headers=headers) as response:
                body = await response.read()
                return response.status, body, response.headers

        for path in ("/orders/o-1", "/kyc/a@b.c", "/kuenta/credit/c-1", "/alerts", "/dlq", "/"):
            status, body, headers = await get(path)
            assert status == 401 and b'"unauthorized"' in body and "WWW-Authenticate" in headers, path
            assert (await get(path, "wrong"))[0] == 401
        for token in ("old-token", "new-token-that-is-longer"):
            status, body, _ = await get("/orders/o-1", token)
            assert status == 404 and b'"not_found"' in body
            assert (await get("/alerts", token))[0] == 200 and (await get("/dlq", token))[0] == 200
        assert (await get("/healthz"))[0] == 200
        status, metrics, headers = await get("/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert b"hooklog_worker_api_refusals_total" in metrics and b"token" not in metrics
        async with session.post(f"{url}/auth/koywe", json={"email": "a@b.c"},
                                headers={"Authorization": "Bearer old-token"}) as response:
            assert response.status == 503  # the callback's own tokens are unset; API tokens do not open it
