"""History entries shared by every projection: what happened, when, and what it led to."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from schemas.envelope import Envelope


class HistoryEntry(BaseModel):
    """One distinct event applied to an aggregate (repeats are not added twice)."""

    model_config = ConfigDict(frozen=True)

    eventId: str
    eventName: str
    occurredAt: datetime
    receivedAt: datetime
    deliveryId: str
    status: str
    final: bool = False


def event_id(source: str, event_name: str, aggregate_id: str, occurred_at: str | None, body: bytes) -> str:
    """Identity of a provider event, the same for every redelivery of it.

    Providers send no event id, so it is (source, name, aggregate, the provider's own timestamp
    text); without a timestamp, the body bytes stand in.
    """
    basis = occurred_at.encode() if occurred_at else hashlib.sha256(body).digest()
    digest = hashlib.sha256(b"\x00".join([source.encode(), event_name.encode(), aggregate_id.encode(), basis]))
    return digest.hexdigest()[:32]


class Fact(BaseModel):
    """A decoded provider event with the identity and times the folds need."""

    model_config = ConfigDict(frozen=True)

    source: str
    aggregateId: str
    eventId: str
    eventName: str
    occurredAt: datetime
    receivedAt: datetime
    deliveryId: str
    event: BaseModel


def as_utc(moment: datetime) -> datetime:
    """Provider times without a zone are taken as UTC, so every comparison is well defined."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def make_fact(envelope: Envelope, event: BaseModel, *, name: str, aggregate_id: str,
              occurred_at: datetime | None) -> Fact:
    """Identity and times of a decoded event (every source's decoder ends here)."""
    stamp = as_utc(occurred_at) if occurred_at else None
    return Fact(
        source=envelope.source, aggregateId=aggregate_id, eventName=name,
        eventId=event_id(envelope.source, name, aggregate_id, stamp.isoformat() if stamp else None, envelope.body),
        occurredAt=stamp or envelope.received_at, receivedAt=envelope.received_at,
        deliveryId=envelope.id, event=event,
    )
