"""Events of configured sources: the body is kept as is; name, key and time come from ingest."""

from __future__ import annotations

from datetime import datetime

from schemas.base import Open
from schemas.envelope import Envelope
from schemas.jsonbody import load_object
from schemas.history import Fact, HistoryEntry, ProjectionState, make_fact


class GenericEvent(Open):
    """The body's members, all kept."""


class GenericState(ProjectionState):
    """Latest event of one aggregate of a configured source (`GET /events/{source}/{id}`)."""

    id: str
    source: str
    status: str
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]
    historyOmitted: int = 0  # entries left out past HOOKLOG_HISTORY_LIMIT (projections.history.bound_history)


def decode_generic_fact(envelope: Envelope) -> Fact:
    doc = load_object(envelope.body)
    return make_fact(envelope, GenericEvent.model_validate(doc), name=envelope.event_name,
                     aggregate_id=envelope.key, occurred_at=envelope.occurred_at)
