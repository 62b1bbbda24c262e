"""The console's login on a bare aiohttp app: wrong tokens count per address with the API's (one
`Guesses`), 429 + Retry-After beyond the burst, and the right token still logs in."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from floor.client_address import ClientAddress
from floor.ratelimit import FailureLimiter
from floor.settings import Settings
from streams.api.access import Guesses, api_guard
from streams.console.auth import Auth
from streams.console.logouts import Logouts
from tests.conftest import ManualClock
from tests.kafka_fixtures import API_TOKEN

pytestmark = pytest.mark.unit


async def test_wrong_login_tokens_beyond_the_burst_get_429_and_the_right_one_still_logs_in(
        manual_clock: ManualClock) -> None:
    guesses = Guesses(FailureLimiter(rate=1.0, burst=3, clock=manual_clock), ClientAddress(()))
    settings = Settings(api_tokens=API_TOKEN)
    auth = Auth(settings, guesses, Logouts(settings))  # logging in reads no logouts: no broker here
    app = web.Application(middlewares=[api_guard(settings.api_token_list, guesses=guesses)])
    app.router.add_post("/console/login", auth.login)
    app.router.add_get("/orders/{key}", auth.login_form)  # any guarded view: the guard answers first
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert (await client.get("/orders/o-1", headers={"Authorization": "Bearer guessed-token"})).status == 401
        statuses = [(await client.post("/console/login", data={"token": "guessed-token"}, allow_redirects=False)).status
                    for _ in range(3)]
        assert statuses == [401, 401, 429]  # the API's guess took one of the three
        limited = await client.post("/console/login", data={"token": "guessed-token"}, allow_redirects=False)
        assert limited.status == 429 and limited.headers["Retry-After"] == "1" and "Too many" in await limited.text()
        right = await client.post("/console/login", data={"token": API_TOKEN}, allow_redirects=False)
        assert right.status == 303 and "hooklog_console" in right.cookies
    finally:
        await client.close()
