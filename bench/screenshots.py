"""`python -m bench.screenshots`: docs/img/console-*.png, made by the browser the tests use.

Starts ingest + worker on a fresh topic prefix (as the benchmarks do), sends a small demo set
(orders in several states, a re-quoted order delivered twice and late, a KYC flow, a deposit,
a dead letter), logs in with headless Debian Chromium and saves the main pages.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import API_TOKEN, REPO, SECRET, bench_run
from hooklog.dev.simulate import koywe_payload, post, signed_body, wait_for_state

OUT = REPO / "docs" / "img"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PAGES = {
    "overview": "/console/", "order": "/console/orders/ord-1042", "stuck": "/console/orders?state=PENDING&older_than=1h",
    "user": "/console/users/ana.perez@example.com", "alerts": "/console/alerts", "dlq": "/console/dlq",
}


def _order(name: str, order_id: str, minutes: int) -> bytes:
    return signed_body(koywe_payload(name, order_id, T0 + timedelta(minutes=minutes)), SECRET)


def _user(name: str, minutes: int, **extra: Any) -> bytes:
    at = (T0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return signed_body({"eventName": name, "email": "Ana.Perez@Example.com", "timeStamp": at, **extra}, SECRET)


def demo() -> list[bytes]:
    bodies = [_order("payment_received_modified_order_amount", "ord-1042", 3), _order("payment_created", "ord-1042", 0),
              _order("payment_received_modified_order_amount", "ord-1042", 3), _order("crypto_tx_sent", "ord-1042", 9),
              _order("crypto_delivered", "ord-1042", 14)]
    for i in range(6):
        bodies += [_order("payment_created", f"ord-20{i:02d}", i), _order("payment_received", f"ord-20{i:02d}", i + 2)]
    bodies += [_order("payment_created", "ord-3001", 1), _order("payment_rejected_by_compliance", "ord-3001", 4)]
    bodies += [_user("verification_started", 0), _user("verification_inputs_completed", 1),
               _user("verification_completed", 2, status="reviewNeeded"), _user("verification_completed", 30, status="verified"),
               _user("deposit_without_order", 40, amount=250000, currency="CLP", depositId="dep-1"),
               _user("verification_completed", 50, status="perhaps")]  # undecodable: a dead letter
    return bodies


async def shoot(ingest_url: str, worker_url: str) -> list[Path]:
    from playwright.async_api import async_playwright

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_TOKEN}"}) as session:
        for body in demo():
            await post(session, f"{ingest_url}/webhooks/koywe", body)
        await wait_for_state(session, worker_url, "ord-1042", "DELIVERED", events=4)
        await wait_for_state(session, worker_url, "ord-2005", "PENDING")
    await asyncio.sleep(3)  # the fold-rate sampler and the index rebuild have run
    OUT.mkdir(parents=True, exist_ok=True)
    saved = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = await browser.new_page(viewport={"width": 1180, "height": 760})
        await page.goto(f"{worker_url}/console/login")
        await page.screenshot(path=OUT / "console-login.png")
        saved.append(OUT / "console-login.png")
        await page.fill("input[name=token]", API_TOKEN)
        await page.click("button[type=submit]")
        for name, path in PAGES.items():
            await page.goto(f"{worker_url}{path}")
            if name == "order":
                await page.locator("details").first.click()
            target = OUT / f"console-{name}.png"
            await page.screenshot(path=target, full_page=name in ("order", "user"))
            saved.append(target)
        await browser.close()
    return saved


def main() -> None:
    with bench_run(partitions=2) as (settings, children, _):
        children.role(settings, "ingest")
        children.role(settings, "worker")
        for path in asyncio.run(shoot(f"http://127.0.0.1:{settings.ingest_port}",
                                      f"http://127.0.0.1:{settings.worker_port}")):
            print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size // 1024} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
