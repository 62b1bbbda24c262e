"""History entries shared by every projection: what happened, when, and what it led to."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
