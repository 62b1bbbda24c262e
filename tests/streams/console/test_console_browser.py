"""The operator console in a real browser (headless Chromium) on the real broker and running system."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from hooklog.dev.simulate import koywe_payload, post, signed_body, wait_for_state
from hooklog.dev.simulate_payments import payments_body, post_signed, wait_for_order
from schemas.envelope import encode_envelope, new_envelope
from tests.kafka_fixtures import API_TOKEN, SECRET, System, api_headers

pytestmark = [pytest.mark.browser, pytest.mark.kafka]
XSS = "<script>alert('xss-1')</script><img src=x onerror=alert('xss-2')>"
USER = "Ana.Perez@Example.com"
T0 = datetime(2026, 3, 20, 10, tzinfo=UTC)
PAYMENTS_SECRET = "kp-console-secret"


def order_event(name: str, order_id: str, minutes: int, **extra: Any) -> bytes:
    return signed_body({**koywe_payload(name, order_id, T0 + timedelta(minutes=minutes)), **extra}, SECRET)


def user_event(name: str, second: int, **extra: Any) -> bytes:
    return signed_body({"eventName": name, "email": USER, "timeStamp": f"2026-03-20T10:00:{second:02d}.000Z", **extra},
                       SECRET)


async def log_in(context: Any, base: str, token: str = API_TOKEN) -> Any:
    page = await context.new_page()
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=token]", token)
    await page.click("button[type=submit]")
    return page


async def search(page: Any, query: str) -> None:
    await page.fill("input[name=q]", query)
    await page.press("input[name=q]", "Enter")


async def follow_alert_link(page: Any, base: str, alert_type: str, text: str) -> None:
    """Open the alerts page of `alert_type` until an alert's link shows `text` (the alert is
    published after the state), then follow it."""
    await page.goto(f"{base}/console/alerts?type={alert_type}")
    link = page.locator("table.alerts a", has_text=text)
    for _ in range(50):
        if await link.count():
            break
        await page.wait_for_timeout(300)
        await page.reload()
    await link.first.click()


def watch_for_scripts(page: Any) -> list[str]:
    """Every dialog a page opens (an injected alert() would) and every console message."""
    seen: list[str] = []

    async def dismiss(dialog: Any) -> None:
        seen.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("console", lambda message: seen.append(f"console: {message.text}") if "xss" in message.text else None)
    return seen


async def test_no_cookie_wrong_token_and_missing_csrf_are_refused(run_system: Callable[..., System], browser: Any) -> None:
    system = run_system("worker")
    base = system.worker_url
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/console/orders/ord-1")
    assert page.url.startswith(f"{base}/console/login")  # no cookie: to the login

    page = await log_in(context, base, "not-a-token")
    assert "not one of this deployment's API tokens" in await page.inner_text("main")
    assert not await context.cookies()

    page = await log_in(context, base)
    assert page.url == f"{base}/console/" and await page.inner_text("h1") == "Overview"
    (cookie,) = await context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and API_TOKEN not in cookie["value"]

    jar = {cookie["name"]: cookie["value"]}
    async with aiohttp.ClientSession(cookies=jar) as session:  # the cookie, but no CSRF token
        async with session.post(f"{base}/console/dlq/redrive", data={"all": "1"}, allow_redirects=False) as answer:
            assert answer.status == 403 and "CSRF" in await answer.text()
        async with session.post(f"{base}/console/logout", data={}, allow_redirects=False) as answer:
            assert answer.status == 403
        async with session.get(f"{base}/console/", allow_redirects=False) as answer:
            assert answer.status == 200
            assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
    await page.click("form.logout button")  # the real form carries its token
    assert page.url.startswith(f"{base}/console/login") and not await context.cookies()
    async with aiohttp.ClientSession(cookies=jar) as session:  # the old cookie, replayed: that session has ended
        async with session.get(f"{base}/console/", allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"].startswith("/console/login")


async def test_search_timeline_alert_user_and_redrive_in_a_browser(run_system: Callable[..., System], browser: Any) -> None:
    system = run_system()
    base, webhooks = system.worker_url, f"{system.ingest_url}/webhooks/koywe"
    deliveries = [  # arrival order: a late payment_created, a redelivery, a provider payload holding markup
        order_event("payment_received_modified_order_amount", "ord-7", 2, note=XSS),
        order_event("payment_created", "ord-7", 0, note=XSS),
        order_event("payment_received_modified_order_amount", "ord-7", 2, note=XSS),
        order_event("crypto_tx_sent", "ord-7", 5),
    ]
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for body in deliveries:
            assert (await post(session, webhooks, body))[0] == 200
        for body in (user_event("verification_started", 0), user_event("verification_completed", 2, status="verified")):
            assert (await post(session, webhooks, body))[0] == 200
        assert await wait_for_state(session, base, "ord-7", "IN_PROGRESS", events=3) is not None

    context = await browser.new_context()
    page = await log_in(context, base)
    scripts = watch_for_scripts(page)
    await search(page, "ord-7")
    assert page.url == f"{base}/console/orders/ord-7"
    assert "IN_PROGRESS" in await page.inner_text("h1")
    rows = page.locator("table.timeline tbody tr:not(.body)")
    assert await rows.count() == 4  # every delivery, the redelivery included
    names = [await rows.nth(i).locator("td.event").inner_text() for i in range(4)]
    assert names == ["payment_received_modified_order_amount", "payment_created",
                     "payment_received_modified_order_amount", "crypto_tx_sent"]
    assert "late" in await rows.nth(1).inner_text() and "twice" in await rows.nth(2).inner_text()
    assert "1500" in await page.inner_text("table.kv")  # the amount adjustment
    bodies = await page.locator("pre.raw").all_text_contents()
    assert len(bodies) == 4 and sum(XSS in b for b in bodies) == 3  # shown as text, byte for byte
    assert await page.locator("main img").count() == 0 and await page.locator("main script").count() == 0
    for i in range(await page.locator("details").count()):
        await page.locator("details").nth(i).click()  # open every body: still nothing runs
    await page.wait_for_timeout(300)
    assert scripts == []

    await follow_alert_link(page, base, "order_amount_modified", "ord-7")
    assert page.url == f"{base}/console/orders/ord-7"

    await search(page, USER.upper())
    assert "KYC verified" in await page.inner_text("h1")
    kyc = await page.locator("table.timeline td.event").all_inner_texts()
    assert kyc == ["verification_started", "verification_completed"]

    await dead_letter_then_redrive(system, page)
    assert scripts == []


async def dead_letter_then_redrive(system: System, page: Any) -> None:
    """A record an older ingest keyed wrongly is dead-lettered; its button re-drives it; it is folded."""
    settings, base = system.settings, system.worker_url
    body = order_event("payment_created", "ord-77", 0)
    wrong = new_envelope(source="koywe", key="ord-WRONG", event_name="payment_created", body=body,
                         received_at=datetime.now(UTC))
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic("raw"), encode_envelope(wrong), key=b"ord-WRONG")
    finally:
        await producer.stop()
    await page.goto(f"{base}/console/dlq")
    for _ in range(60):
        if "differs from the aggregate id" in await page.inner_text("table.dlq"):
            break
        await asyncio.sleep(0.3)
        await page.reload()
    assert wrong.id in await page.inner_text("table.dlq")
    await page.locator("table.dlq form button").first.click()
    assert "1 redriven 0 skipped" in await page.inner_text("main")
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        state = await wait_for_state(session, base, "ord-77", "WAITING")
    assert state is not None and state["history"][0]["deliveryId"] == wrong.id
    await page.goto(f"{base}/console/orders/ord-77")
    assert "WAITING" in await page.inner_text("h1")


async def test_koywe_payments_orders_and_contacts_in_a_browser(run_system: Callable[..., System], browser: Any) -> None:
    """A Payments order (paid short, canceled too, one event redelivered) and a contact: found by
    search, their state, every delivery on the timeline, and the order's alert links to its page."""
    system = run_system(koywe_payments_secrets=PAYMENTS_SECRET)
    base, url = system.worker_url, f"{system.ingest_url}/webhooks/koywe-payments"
    created = payments_body("order.created", "ord_p7", T0, event_id="evt_p7_1", amount="100.00", currency="CLP",
                            externalId="cart-7")
    deliveries = [  # arrival order: the paid event (short by 10) first, the creation redelivered
        payments_body("order.paid", "ord_p7", T0 + timedelta(minutes=2), event_id="evt_p7_2", amount="90.00"),
        created, created,
        payments_body("order.canceled", "ord_p7", T0 + timedelta(minutes=3), event_id="evt_p7_3"),
        payments_body("contact.created", "ct_p7", T0, event_id="evt_ct_7", name=XSS),
    ]
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for body in deliveries:
            assert (await post_signed(session, url, body, PAYMENTS_SECRET))[0] == 200
        assert await wait_for_order(session, base, "ord_p7", "paid", events=3) is not None

    context = await browser.new_context()
    page = await log_in(context, base)
    scripts = watch_for_scripts(page)
    await search(page, "ord_p7")
    assert page.url == f"{base}/console/koywe-payments/orders/ord_p7"
    assert "paid" in await page.inner_text("h1")
    assert "The events conflict" in await page.inner_text("main")  # canceled after paid: the paid path stands
    facts = await page.inner_text("table.kv")
    assert "100.00 CLP" in facts and "90.00" in facts and "cart-7" in facts
    rows = page.locator("table.timeline tbody tr:not(.body)")
    assert await rows.count() == 4  # every delivery, the redelivery included
    assert [await rows.nth(i).locator("td.event").inner_text() for i in range(4)] == [
        "order.paid", "order.created", "order.created", "order.canceled"]
    assert "late" in await rows.nth(1).inner_text() and "twice" in await rows.nth(2).inner_text()

    await follow_alert_link(page, base, "koywe_payments_amount_mismatch", "ord_p7")
    assert page.url == f"{base}/console/koywe-payments/orders/ord_p7"

    await search(page, "ct_p7")
    assert page.url == f"{base}/console/koywe-payments/contacts/ct_p7"
    assert "contact" in await page.inner_text("h1") and "created" in await page.inner_text("h1")
    assert XSS in await page.inner_text("pre.raw >> nth=0")  # the contact's data, shown as text
    assert [t for t in await page.locator("table.timeline td.event").all_inner_texts()] == ["contact.created"]
    await page.goto(f"{base}/console/koywe-payments/orders/ord_nope")
    assert "no Koywe Payments order 'ord_nope'" in await page.inner_text("main")
    assert scripts == []
