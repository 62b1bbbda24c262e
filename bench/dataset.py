"""Benchmark data: signed Koywe bodies, and the raw records ingest would have written for them.

Bodies are built as Koywe builds them (`hooklog.dev.simulate`: compact JSON, then a `signature`
member), so every figure exercises the real verifier and decoders. Order ids carry the run's
prefix, so two runs never share an aggregate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hooklog.dev.simulate import LIFECYCLES, koywe_payload, signed_body
from schemas.envelope import encode_envelope, new_envelope, utcnow

KINDS = tuple(LIFECYCLES)  # onramp, offramp, offramp-corrected, peru-wire
WAVE = 1000  # orders interleaved per block: event 0 of each, then event 1 of each, ...


@dataclass(frozen=True, slots=True)
class Body:
    order_id: str
    event_name: str
    body: bytes


def order_id(tag: str, index: int) -> str:
    return f"ord-{tag}-{index:08d}"


def lifecycle_bodies(tag: str, orders: int, secret: str, *, kinds: tuple[str, ...] = KINDS,
                     start: datetime | None = None, first: int = 0, wave: int = WAVE) -> Iterator[Body]:
    """Signed bodies of `orders` whole lifecycles (kinds in turn), interleaved in blocks of `wave`
    orders so consecutive events mostly touch different aggregates, as live traffic does (a
    small `wave` puts several events of an order in one batch, as a catch-up does)."""
    t0 = start or datetime.now(UTC) - timedelta(hours=1)
    for block in range(first, first + orders, wave):
        ids = range(block, min(block + wave, first + orders))
        plans = [(order_id(tag, i), LIFECYCLES[kinds[i % len(kinds)]]) for i in ids]
        for step in range(max(len(names) for _, names in plans)):
            for oid, names in plans:
                if step < len(names):
                    at = t0 + timedelta(seconds=step)
                    yield Body(oid, names[step], signed_body(koywe_payload(names[step], oid, at), secret))


def created_bodies(tag: str, orders: int, secret: str, first: int = 0) -> Iterator[Body]:
    """One `payment_created` per order: one event makes one order (the memory benchmark)."""
    at = datetime.now(UTC) - timedelta(hours=1)
    for i in range(first, first + orders):
        oid = order_id(tag, i)
        yield Body(oid, "payment_created", signed_body(koywe_payload("payment_created", oid, at), secret))


def raw_record(body: Body) -> tuple[bytes, bytes]:
    """(key, value) exactly as ingest's producer writes it for this body."""
    envelope = new_envelope(source="koywe", key=body.order_id, event_name=body.event_name, body=body.body,
                            received_at=utcnow(), headers={"content-type": "application/json"})
    return body.order_id.encode(), encode_envelope(envelope)


def count_events(orders: int, kinds: tuple[str, ...] = KINDS) -> int:
    """How many events `lifecycle_bodies(orders=...)` yields."""
    return sum(len(LIFECYCLES[kinds[i % len(kinds)]]) for i in range(orders))
