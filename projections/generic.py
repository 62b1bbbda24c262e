"""Fold for configured sources: status = the latest event's name, by event time; idempotent."""

from __future__ import annotations

from projections.history import advance
from schemas.alerts import Alert
from schemas.generic import GenericState
from schemas.history import Fact
from schemas.trusted import trusted


def fold_generic(state: GenericState | None, fact: Fact) -> tuple[GenericState, tuple[Alert, ...]]:
    step = advance(state.history if state else (), fact, fact.eventName, final=False, rank=lambda _: 0)
    if step is None:
        assert state is not None
        return state, ()
    history, decisive = step
    source, _, ident = fact.aggregateId.partition(":")
    return trusted(GenericState, {"id": ident, "source": source, "status": decisive.status,
                                  "updatedAt": decisive.occurredAt, "history": history,
                                  "historyOmitted": state.historyOmitted if state else 0}), ()
