"""The console's alerts page in a real browser: lifecycle states, acting on an alert with the
session's CSRF token (refused without it), and the notification sinks' health."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest

from hooklog.dev.simulate import post
from tests.kafka_fixtures import System, api_headers, until
from tests.streams.console.test_console_browser import log_in, order_event

pytestmark = [pytest.mark.browser, pytest.mark.kafka]
WHSEC = "whsec_" + base64.b64encode(b"console test key, 32 bytes long!").decode()


async def test_acknowledge_and_silence_from_the_alerts_page(run_system: Callable[..., System], browser: Any,
                                                            receivers: Callable[..., Any]) -> None:
    sink = await receivers("fail")
    system = run_system(notify=orjson.dumps([{"type": "webhook", "name": "ops", "url": sink.url, "secret": WHSEC}]).decode(),
                        notify_attempts=2, notify_backoff_s=0.01, notify_backoff_max_s=0.02)
    base = system.worker_url
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for order in ("ord-c1", "ord-c2"):
            assert (await post(session, f"{system.ingest_url}/webhooks/koywe", order_event("crypto_tx_failed", order, 1)))[0] == 200
    context = await browser.new_context()
    page = await log_in(context, base)

    async def rows_in(state: str) -> int:
        await page.goto(f"{base}/console/alerts")
        return await page.locator(f"table.lifecycle td.state-{state}").count()

    await until(lambda: rows_in("open"), 60, "two open alerts listed")
    assert await rows_in("open") == 2
    row = page.locator("table.lifecycle tr", has_text="ord-c1")
    await row.locator("button", has_text="Acknowledge").click()
    assert "Done: ack" in await page.inner_text("main")
    await until(lambda: rows_in("acknowledged"), 30, "ord-c1 acknowledged")
    row = page.locator("table.lifecycle tr", has_text="ord-c2")
    await row.locator("select[name=forSeconds]").select_option("14400")
    await row.locator("button", has_text="Silence").click()
    await until(lambda: rows_in("silenced"), 30, "ord-c2 silenced")
    assert "by console" in await page.locator("table.lifecycle tr", has_text="ord-c2").inner_text()

    async def sink_row() -> str:
        await page.goto(f"{base}/console/alerts")
        text = await page.locator("table.sinks tr", has_text="ops").inner_text()
        return text if "HTTP 500" in text else ""

    assert "HTTP 500" in await until(sink_row, 60, "the failing sink's error shown")

    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    async with aiohttp.ClientSession(cookies=cookies) as session:
        form = {"alert": "0" * 32, "action": "resolve"}
        async with session.post(f"{base}/console/alerts/act", data=form, allow_redirects=False) as answer:
            assert answer.status == 403  # no CSRF token
    await context.close()
