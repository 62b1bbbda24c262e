"""Kuenta factories (plain functions, imported explicitly): bodies, envelopes, facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from schemas.envelope import Envelope, new_envelope
from schemas.history import Fact
from schemas.kuenta import decode_kuenta_fact

T0 = datetime(2024, 3, 20, 10, 0, tzinfo=UTC)
RECEIVED = T0 + timedelta(hours=1)

#: Verbatim from kuenta-webhooks.es.txt, "Estructura del payload".
DOC_EXAMPLE = b"""{
"event": "credit.application.created",
"data": {
"id": "app_123",
"amount": 5000000,
"term": 12,
"termUnit": "months",
"status": "pending",
"createdAt": "2024-03-20T10:00:00Z"
},
"timestamp": "2024-03-20T10:00:00Z"
}"""

_UNSET: Any = object()


def kuenta_at(seconds: float) -> str:
    """A Kuenta-style timestamp `seconds` after T0 (the doc's form: whole seconds, Z suffix)."""
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def kuenta_body(
    event: str, aggregate_id: str = "app_123", seconds: float | None = 0, *,
    amount: Any = _UNSET, **data: Any,
) -> bytes:
    """A body shaped like the doc's example; `amount=None` leaves the member out."""
    members: dict[str, Any] = {"id": aggregate_id}
    if amount is not _UNSET and amount is not None:
        members["amount"] = amount
    members.update(data)
    payload: dict[str, Any] = {"event": event, "data": members}
    if seconds is not None:
        payload["timestamp"] = kuenta_at(seconds)
    return orjson.dumps(payload)


def kuenta_envelope_of(body: bytes, key: str = "app_123", event: str = "", received_at: datetime = RECEIVED) -> Envelope:
    """An accepted Kuenta delivery of exactly `body` (each call is a new delivery id)."""
    return new_envelope(source="kuenta", key=key, event_name=event, body=body, received_at=received_at)


def kuenta_envelope(event: str, aggregate_id: str = "app_123", seconds: float | None = 0, **kwargs: Any) -> Envelope:
    """Factory: an accepted Kuenta delivery of `event` for `aggregate_id` at T0+seconds."""
    return kuenta_envelope_of(kuenta_body(event, aggregate_id, seconds, **kwargs), aggregate_id, event)


def kuenta_fact(event: str, aggregate_id: str = "app_123", seconds: float | None = 0, **kwargs: Any) -> Fact:
    """Factory: the decoded fact of `kuenta_envelope(...)`."""
    return decode_kuenta_fact(kuenta_envelope(event, aggregate_id, seconds, **kwargs))
