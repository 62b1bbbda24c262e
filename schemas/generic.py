"""Events of configured sources: the body is kept as is; name, key and time come from ingest."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from schemas.envelope import Envelope
from schemas.jsonbody import load_object
from schemas.history import Fact, HistoryEntry, make_fact


class GenericEvent(BaseModel):
    """The body's members, all kept."""

    model_config = ConfigDict(frozen=True, extra="allow")


class GenericState(BaseModel):
    """Latest event of one aggregate of a configured source (`GET /events/{source}/{id}`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    status: str
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]


def decode_generic_fact(envelope: Envelope) -> Fact:
    doc = load_object(envelope.body)
    return make_fact(envelope, GenericEvent.model_validate(doc), name=envelope.event_name,
                     aggregate_id=envelope.key, occurred_at=envelope.occurred_at)
