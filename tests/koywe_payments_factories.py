"""Koywe Payments API deliveries for tests: bodies as the simulator signs them, envelopes as ingest
keys them (`data.id`, pings by their own id), facts as the worker decodes them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from hooklog.dev.simulate_payments import payments_body
from schemas.decoding import decode_fact
from schemas.envelope import Envelope, new_envelope
from schemas.history import Fact
from schemas.koywe_payments import SOURCE, route_koywe_payments
from tests.conftest import T0


def payments_envelope(event_type: str, resource_id: str = "ord_1", event_id: str | None = None,
                      seconds: float = 0, body: bytes | None = None, **data: Any) -> Envelope:
    """An accepted delivery of `event_type` for `resource_id` at T0+seconds (event id: `evt_<type>`)."""
    raw = body if body is not None else payments_body(event_type, resource_id, T0 + timedelta(seconds=seconds),
                                                      event_id=event_id or f"evt_{resource_id}_{event_type}", **data)
    name, key = route_koywe_payments(orjson.loads(raw))
    return new_envelope(source=SOURCE, key=key, event_name=name, body=raw, received_at=T0 + timedelta(hours=1))


def payments_fact(event_type: str, resource_id: str = "ord_1", event_id: str | None = None, seconds: float = 0,
                  **data: Any) -> Fact:
    return decode_fact(payments_envelope(event_type, resource_id, event_id, seconds, **data))
