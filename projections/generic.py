"""Fold for configured sources: status = the latest event's name, by event time; idempotent."""

from __future__ import annotations

from projections.history import effective, entry_for, insert, seen
from schemas.alerts import Alert
from schemas.generic import GenericState
from schemas.history import Fact


def fold_generic(state: GenericState | None, fact: Fact) -> tuple[GenericState, tuple[Alert, ...]]:
    if state is not None and seen(state.history, fact.eventId):
        return state, ()
    history = insert(state.history if state else (), entry_for(fact, fact.eventName, final=False), lambda _: 0)
    decisive = effective(history)
    source, _, ident = fact.aggregateId.partition(":")
    return GenericState(id=ident, source=source, status=decisive.status, updatedAt=decisive.occurredAt,
                        history=history), ()
