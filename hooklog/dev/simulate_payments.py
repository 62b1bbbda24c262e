"""Signed Koywe Payments API lifecycles, sent to a running ingest (`hooklog simulate --source
koywe-payments`, the e2e tests).

Bodies are signed the way Koywe's docs show (HMAC-SHA256 of the raw bytes in `Koywe-Signature`),
and each event has its own `id`: a repeat is the same bytes under the same id, as Koywe's retries are.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson

from hooklog.dev.simulate import Delivery, poll_state, scramble
from ingest.senders.signatures import sign_hmac_hex

HEADER = "Koywe-Signature"
PATH = "/webhooks/koywe-payments"

#: kind -> (the order's event types in sending order, the status the order ends in)
LIFECYCLES: dict[str, tuple[tuple[str, ...], str]] = {
    "paid": (("order.created", "order.approved", "order.processing", "order.paid", "order.completed"), "completed"),
    "refunded": (("order.created", "order.pending", "order.paid", "order.completed", "order.refunded"), "refunded"),
    "expired": (("order.created", "order.pending", "order.expired"), "expired"),
    "cancelled": (("order.created", "order.cancelled"), "canceled"),
}


def payments_body(event_type: str, resource_id: str, at: datetime, *, event_id: str | None = None,
                  **data: Any) -> bytes:
    """A Payments API body: the event's id, type, time and the resource."""
    return orjson.dumps({
        "id": event_id or f"evt_{uuid.uuid4().hex}", "type": event_type,
        "createdAt": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": {"id": resource_id, **data},
    })


def signature_headers(body: bytes, secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", HEADER: sign_hmac_hex(body, secret)}


def order_lifecycle(kind: str, *, start: datetime, order_id: str | None = None,
                    amount: str = "15000.50") -> list[Delivery]:
    """One order's events of lifecycle `kind`, a second apart, with the order's amounts."""
    oid = order_id or f"ord_{uuid.uuid4().hex[:12]}"
    types, _ = LIFECYCLES[kind]
    extra = {"amount": amount, "currency": "CLP", "externalId": f"cart-{oid}"}
    return [Delivery(oid, name, payments_body(name, oid, start + timedelta(seconds=i), **extra))
            for i, name in enumerate(types)]


async def post_signed(session: aiohttp.ClientSession, url: str, body: bytes, secret: str) -> tuple[int, dict[str, Any]]:
    async with session.post(url, data=body, headers=signature_headers(body, secret)) as response:
        return response.status, orjson.loads(await response.read() or b"{}")


async def wait_for_order(session: aiohttp.ClientSession, worker_url: str, order_id: str, expected: str | None,
                         *, events: int = 0, timeout_s: float = 60.0) -> dict[str, Any] | None:
    """Poll `GET /koywe-payments/orders/{id}` until it shows `expected` with `events` events."""
    return await poll_state(session, f"{worker_url}/koywe-payments/orders/{order_id}", "status", expected,
                            events=events, timeout_s=timeout_s)


async def simulate_payments(ingest_url: str, worker_urls: Sequence[str], secret: str, token: str, *,
                            orders_per_kind: int = 1, seed: int = 7, duplicates: float = 0.3) -> list[dict[str, Any]]:
    """Send scrambled, repeated order lifecycles; wait until each order shows its last status."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(minutes=5)
    plans = [(kind, order_lifecycle(kind, start=start)) for kind in LIFECYCLES for _ in range(orders_per_kind)]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        for _, deliveries in plans:
            for delivery in scramble(deliveries, rng, duplicates):
                status, answer = await post_signed(session, f"{ingest_url}{PATH}", delivery.body, secret)
                if status != 200:
                    raise RuntimeError(f"ingest answered {status} {answer} for {delivery.event_name}")
        results = []
        for i, (kind, deliveries) in enumerate(plans):
            state = await wait_for_order(session, worker_urls[i % len(worker_urls)], deliveries[0].order_id,
                                         LIFECYCLES[kind][1], events=len(deliveries))
            results.append({"kind": kind, "orderId": deliveries[0].order_id,
                            "state": (state or {}).get("status"), "history": (state or {}).get("history", [])})
        return results
