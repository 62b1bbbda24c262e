"""Signed Koywe lifecycles, sent to a running ingest: the demo, the e2e tests and the load tests.

Bodies are built the way Koywe builds them (compact `JSON.stringify` of the payload, then a
`signature` member added), so every request exercises the real verifier.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson

from ingest.senders.signatures import signed_koywe_body

ONRAMP = ("payment_created", "payment_received", "crypto_tx_sent", "crypto_delivered")
OFFRAMP = ("payment_created", "payment_received", "fiat_sent", "fiat_delivered")
OFFRAMP_CORRECTED = ("payment_created", "payment_received", "fiat_sent", "invalid_withdrawals_details",
                     "fiat_sent", "fiat_delivered")
PERU_WIRE = ("payment_created", "payment_received_modified_order_amount", "crypto_tx_sent", "crypto_delivered")
LIFECYCLES: dict[str, tuple[str, ...]] = {
    "onramp": ONRAMP, "offramp": OFFRAMP, "offramp-corrected": OFFRAMP_CORRECTED, "peru-wire": PERU_WIRE,
}
FINAL_STATE = {"onramp": "DELIVERED", "offramp": "DELIVERED", "offramp-corrected": "DELIVERED", "peru-wire": "DELIVERED"}


def koywe_payload(event_name: str, order_id: str, at: datetime) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "eventName": event_name, "orderId": order_id,
        "timeStamp": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if event_name == "payment_received_modified_order_amount":
        payload["originalOrder"] = {"orderId": order_id, "amountIn": 401.25, "amountOut": 100, "symbolIn": "PEN", "symbolOut": "USDC"}
        payload["orderAdjustedByBankIncome"] = {"orderId": order_id, "amountIn": 1500, "amountOut": 373.83, "symbolIn": "PEN", "symbolOut": "USDC"}
    return payload


def signed_body(payload: dict[str, Any], secret: str) -> bytes:
    return signed_koywe_body(orjson.dumps(payload), secret)


@dataclass(frozen=True)
class Delivery:
    order_id: str
    event_name: str
    body: bytes


def lifecycle(kind: str, secret: str, *, start: datetime, order_id: str | None = None) -> list[Delivery]:
    """One order's events of lifecycle `kind`, one second apart, in sending order."""
    oid = order_id or f"ord-{uuid.uuid4()}"
    return [
        Delivery(oid, name, signed_body(koywe_payload(name, oid, start + timedelta(seconds=i)), secret))
        for i, name in enumerate(LIFECYCLES[kind])
    ]


def scramble(deliveries: Sequence[Delivery], rng: random.Random, duplicates: float = 0.0) -> list[Delivery]:
    """Late, twice and out of order: shuffle and repeat a share of the deliveries."""
    out = list(deliveries) + [d for d in deliveries if rng.random() < duplicates]
    rng.shuffle(out)
    return out


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        return response.status, orjson.loads(await response.read() or b"{}")


async def wait_for_state(session: aiohttp.ClientSession, worker_url: str, order_id: str,
                         expected: str | None, timeout_s: float = 60.0,
                         token: str | None = None, events: int = 0) -> dict[str, Any] | None:
    """Poll `GET /orders/{id}` until it shows `expected` (or anything, if None) with at least
    `events` distinct events in its history: a scrambled lifecycle can reach its final state
    before its earlier events are folded. `token` is the worker API's bearer token (or put it in
    the session's default headers)."""
    return await poll_state(session, f"{worker_url}/orders/{order_id}", "state", expected, events=events,
                            timeout_s=timeout_s, token=token)


async def poll_state(session: aiohttp.ClientSession, url: str, field: str, expected: str | None, *,
                     events: int = 0, timeout_s: float = 60.0, token: str | None = None) -> dict[str, Any] | None:
    """Poll a state `GET` until its `field` is `expected` (or anything, if None) with at least
    `events` events in its history; the last state seen (or None) once `timeout_s` has passed."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: dict[str, Any] | None = None
    while asyncio.get_running_loop().time() < deadline:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with session.get(url, headers=headers) as response:
            if response.status == 200:
                last = orjson.loads(await response.read())
                if (expected is None or last.get(field) == expected) and len(last.get("history", ())) >= events:
                    return last
        await asyncio.sleep(0.2)
    return last


async def simulate(ingest_url: str, worker_url: str | Sequence[str], secret: str, *, orders_per_kind: int = 1,
                   seed: int = 7, duplicates: float = 0.3, token: str | None = None) -> list[dict[str, Any]]:
    """Send scrambled signed lifecycles, wait until each order is final, return their states
    (read with the worker API's bearer `token`; with several worker URLs, order i from the i-th
    round robin: any worker answers any key)."""
    worker_urls = [worker_url] if isinstance(worker_url, str) else list(worker_url)
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(minutes=5)
    plans = [(kind, lifecycle(kind, secret, start=start)) for kind in LIFECYCLES for _ in range(orders_per_kind)]
    async with aiohttp.ClientSession() as session:
        for _, deliveries in plans:
            for delivery in scramble(deliveries, rng, duplicates):
                status, answer = await post(session, f"{ingest_url}/webhooks/koywe", delivery.body)
                if status != 200:
                    raise RuntimeError(f"ingest answered {status} {answer} for {delivery.event_name}")
        results = []
        for i, (kind, deliveries) in enumerate(plans):
            state = await wait_for_state(session, worker_urls[i % len(worker_urls)], deliveries[0].order_id,
                                         FINAL_STATE[kind], token=token, events=len(deliveries))
            results.append({"kind": kind, "orderId": deliveries[0].order_id, **(state or {"state": None})})
        return results
