"""Koywe's Payments API webhooks (the organisation-scoped, newer interface): source `koywe-payments`.

What we rely on (docs/events.md, "Koywe Payments API"): a body is a JSON object with the event's
own `id` (receivers deduplicate on it: Koywe retries on 5xx, 429 and network errors), its `type`
(`order.*`, `contact.*`, `merchant.*`, `invitation.*`, or a ping sent by the endpoint's ping
call) and `data`, the resource, whose `data.id` keys the raw record (one resource's events stay
on one partition). `order.cancelled` and `order.canceled` are one event (the docs spell it both
ways). Every model keeps unknown members: a member we do not know must never make us reject a
signed, stored event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from hashlib import sha256
from typing import Annotated, Any

import orjson
from pydantic import Field, ValidationError

from schemas.base import Frozen, Open
from schemas.envelope import Envelope
from schemas.errors import DecodeError, UnknownEventError
from schemas.history import Fact, make_fact
from schemas.jsonbody import load_object

SOURCE = "koywe-payments"

#: family -> the statuses (the `type`'s part after the dot) the docs list for it; merchants and
#: invitations are `merchant.*` / `invitation.*` with names the docs do not enumerate, so any
#: status of those two families is taken.
ORDER_STATUSES: tuple[str, ...] = (
    "created", "approved", "pending", "processing", "paid", "completed", "failed", "expired", "canceled", "refunded",
)
CONTACT_STATUSES: tuple[str, ...] = ("created", "updated", "deleted")
OPEN_FAMILIES: frozenset[str] = frozenset({"merchant", "invitation"})
FAMILIES: tuple[str, ...] = ("order", "contact", "merchant", "invitation")

#: Spellings the docs use for one event, mapped to the one hooklog records.
ALIASES: dict[str, str] = {"order.cancelled": "order.canceled"}

ORDER_EVENTS: frozenset[str] = frozenset(f"order.{status}" for status in ORDER_STATUSES)
CONTACT_EVENTS: frozenset[str] = frozenset(f"contact.{status}" for status in CONTACT_STATUSES)

#: A ping from Koywe's "ping" endpoint: stored, answered 200, folded into no resource.
PING_EVENTS: frozenset[str] = frozenset({"ping", "webhook.ping", "endpoint.ping"})


class PaymentsData(Open):
    """The resource an event is about. `id` is the aggregate; the rest is kept as sent."""

    id: Annotated[str, Field(min_length=1)]
    amount: Decimal | None = None
    currency: str | None = None
    externalId: str | None = None


class PaymentsEvent(Open):
    """One Payments API webhook. The event time is the first of `createdAt`, `timestamp` that is
    sent (else ingest's receipt time stands in, as for every source)."""

    id: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1)]
    data: PaymentsData | None = None
    createdAt: datetime | None = None
    timestamp: datetime | None = None

    @property
    def occurred_at(self) -> datetime | None:
        return self.createdAt or self.timestamp


class PaymentsDelivery(Frozen):
    """What a fold takes: the event, its normalised type, and the digest of its content (JSON
    with sorted keys), so a redelivery of the same `id` with another body is told apart."""

    event: PaymentsEvent
    type: str
    digest: str


def event_type(raw: str) -> str:
    """The type as hooklog records it (`order.cancelled` -> `order.canceled`)."""
    return ALIASES.get(raw, raw)


def family_of(name: str) -> str:
    return name.split(".", 1)[0]


def status_of(name: str) -> str:
    return name.split(".", 1)[1] if "." in name else name


def known(name: str) -> bool:
    """An event type this source folds (pings included)."""
    return (name in ORDER_EVENTS or name in CONTACT_EVENTS or name in PING_EVENTS
            or (family_of(name) in OPEN_FAMILIES and "." in name and bool(status_of(name))))


def ping_key(event_id: str) -> str:
    """A ping's record key: `koywe-payments:<event id>`, the key the `events` projection takes."""
    return f"{SOURCE}:{event_id}"


def route_koywe_payments(doc: Mapping[str, Any]) -> tuple[str, str]:
    """Ingest's routing: (normalised type, key). A resource's events key by `data.id`; a ping by
    its own id. An unknown type keeps whatever id it has (the worker dead-letters it, with why)."""
    name, ident = doc.get("type"), doc.get("id")
    if not isinstance(name, str) or not name.strip():
        raise DecodeError("member 'type' (the event type, e.g. order.paid) is missing or not a string")
    if not isinstance(ident, str) or not ident.strip():
        raise DecodeError("member 'id' (the event's own id) is missing or not a string")
    name = event_type(name)
    if name in PING_EVENTS:
        return name, ping_key(ident)
    data = doc.get("data")
    resource = data.get("id") if isinstance(data, Mapping) else None
    if isinstance(resource, int) and not isinstance(resource, bool):
        resource = str(resource)
    if not isinstance(resource, str) or not resource.strip():
        raise DecodeError(f"{name}: member 'data.id' (the resource's id) is missing or not a string")
    return name, resource


def content_digest(doc: Mapping[str, Any]) -> str:
    """Digest of the event's content, whatever its spacing and member order."""
    return sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _decode_error(exc: ValidationError) -> DecodeError:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return DecodeError(f"invalid Koywe Payments event at {where}: {first['msg']}; "
                       'expected {"id": "...", "type": "order.paid", "data": {"id": "...", ...}}')


def decode_payments_event(body: bytes) -> PaymentsDelivery:
    """Validate a Payments API body; UnknownEventError for a type no fold takes."""
    doc = load_object(body)
    try:
        event = PaymentsEvent.model_validate(doc)
    except ValidationError as exc:
        raise _decode_error(exc) from exc
    name = event_type(event.type)
    if not known(name):
        raise UnknownEventError(f"unknown Koywe Payments event {name[:64]!r}; this source takes order.*, "
                                "contact.*, merchant.*, invitation.* and ping")
    if name not in PING_EVENTS and event.data is None:
        raise DecodeError(f"{name}: member 'data' (the resource, with its id) is missing")
    return PaymentsDelivery(event=event, type=name, digest=content_digest(doc))


def decode_koywe_payments_fact(envelope: Envelope) -> Fact:
    """Raw delivery -> Fact. Its identity is the event's own `id` (not a timestamp: Koywe names
    its events), so every redelivery of one event is one Fact."""
    delivery = decode_payments_event(envelope.body)
    event = delivery.event
    key = ping_key(event.id) if delivery.type in PING_EVENTS else event.data.id  # type: ignore[union-attr]
    return make_fact(envelope, delivery, name=delivery.type, aggregate_id=key, occurred_at=event.occurred_at,
                     provider_event_id=event.id)
