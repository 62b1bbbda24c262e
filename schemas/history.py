"""History entries shared by every projection: what happened, when, and what it led to."""

from __future__ import annotations

from hashlib import sha256
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from schemas.trusted import trusted

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
    text); without a timestamp, the body bytes stand in. The parts are NUL-joined UTF-8: joining
    the text first and encoding once gives the same bytes for less work.
    """
    if occurred_at:
        return sha256(f"{source}\x00{event_name}\x00{aggregate_id}\x00{occurred_at}".encode()).hexdigest()[:32]
    head = f"{source}\x00{event_name}\x00{aggregate_id}\x00".encode()
    return sha256(head + sha256(body).digest()).hexdigest()[:32]


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
    """Identity and times of a decoded event (every source's decoder ends here). Its parts are
    a validated envelope and event and the names read from them, so the Fact is `trusted`."""
    stamp = as_utc(occurred_at) if occurred_at else None
    return trusted(Fact, {
        "source": envelope.source, "aggregateId": aggregate_id,
        "eventId": event_id(envelope.source, name, aggregate_id, stamp.isoformat() if stamp else None, envelope.body),
        "eventName": name, "occurredAt": stamp or envelope.received_at, "receivedAt": envelope.received_at,
        "deliveryId": envelope.id, "event": event,
    })
