"""Kuenta fold: `(KuentaState | None, Fact) -> (KuentaState, alerts)`, one state per (family, data.id).

Status = the last dotted part of the decisive event (`credit.application.approved` -> approved).

../shared/provider-docs/kuenta-webhooks.es.txt only *lists* the events ("Eventos disponibles"):
it states no lifecycle order and no finality. The ranks (tie-break for equal timestamps: further
along wins) and finals below are our reading, not the provider's word:

| family | rank (low -> high) | final |
|---|---|---|
| credit | created < approved = rejected < disbursed < completed | rejected, completed |
| payment | created < failed = completed < refunded | refunded |
| document | created < signed = expired | signed, expired |
| validation | started < completed = failed | completed, failed |

A failed payment may be retried (a later `completed` goes on) and a completed one may still be
refunded, so only `refunded` ends a payment; a later `failed` after `completed` shows `failed`.
Equal rank at an equal timestamp is settled by event id: arbitrary but the same in every replay.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from projections.history import advance, is_later
from schemas.alerts import Alert, make_alert
from schemas.errors import UnknownEventError
from schemas.history import Fact, HistoryEntry
from schemas.kuenta import (
    KUENTA_EVENT_NAMES, KuentaEvent, KuentaState, family_of, identifying_members, status_of,
)
from schemas.trusted import trusted

#: family -> status -> rank; equal timestamps resolve towards the higher rank.
RANKS: dict[str, dict[str, int]] = {
    "credit": {"created": 0, "approved": 1, "rejected": 1, "disbursed": 2, "completed": 3},
    "payment": {"created": 0, "failed": 1, "completed": 1, "refunded": 2},
    "document": {"created": 0, "signed": 1, "expired": 1},
    "validation": {"started": 0, "completed": 1, "failed": 1},
}

#: Events that end their aggregate: a stray later event is kept in the history, never reopens it.
FINAL_EVENTS: frozenset[str] = frozenset(
    {
        "credit.application.rejected", "credit.completed", "payment.refunded",
        "document.signed", "document.expired", "validation.completed", "validation.failed",
    }
)

#: event name -> (status after it, is it final?)
TRANSITIONS: dict[str, tuple[str, bool]] = {
    name: (status_of(name), name in FINAL_EVENTS) for name in sorted(KUENTA_EVENT_NAMES)
}


def _alert(alert_type: str, fact: Fact) -> Alert:
    """Details: family, event name, the members that name the thing, and the amount when known."""
    event = fact.event
    assert isinstance(event, KuentaEvent)
    details: dict[str, object] = {
        "family": family_of(fact.eventName), "eventName": fact.eventName,
        **identifying_members(event.data),
    }
    if event.data.amount is not None:
        details["amount"] = event.data.amount
    return make_alert(
        alert_type, source=fact.source, aggregate_id=fact.aggregateId, event_id=fact.eventId,
        occurred_at=fact.occurredAt, details=details,
    )


def _no_alerts(fact: Fact) -> tuple[Alert, ...]:
    return ()


def _payment_failed(fact: Fact) -> tuple[Alert, ...]:
    return (_alert("kuenta_payment_failed", fact),)


def _payment_refunded(fact: Fact) -> tuple[Alert, ...]:
    return (_alert("kuenta_payment_refunded", fact),)


def _credit_rejected(fact: Fact) -> tuple[Alert, ...]:
    return (_alert("kuenta_credit_rejected", fact),)


def _document_expired(fact: Fact) -> tuple[Alert, ...]:
    return (_alert("kuenta_document_expired", fact),)


def _validation_failed(fact: Fact) -> tuple[Alert, ...]:
    return (_alert("kuenta_validation_failed", fact),)


EFFECTS: dict[str, Callable[[Fact], tuple[Alert, ...]]] = {
    "payment.failed": _payment_failed,
    "payment.refunded": _payment_refunded,
    "credit.application.rejected": _credit_rejected,
    "document.expired": _document_expired,
    "validation.failed": _validation_failed,
}


def fold_kuenta(state: KuentaState | None, fact: Fact) -> tuple[KuentaState, tuple[Alert, ...]]:
    """Apply one event. A repeat returns the same state object and re-derives the same alerts
    (same ids), so a crash between saving state and sending alerts loses no alert."""
    if not isinstance(fact.event, KuentaEvent):
        raise TypeError(f"fold_kuenta takes Kuenta events, not {type(fact.event).__name__}")
    family = family_of(fact.eventName)
    if state is not None and state.family != family:
        raise TypeError(
            f"fold_kuenta: {fact.eventName!r} is a {family} event but state {state.id!r} is a "
            f"{state.family}; key Kuenta states by (family, id)"
        )
    if state is not None and state.id != fact.aggregateId:
        raise TypeError(f"fold_kuenta: event for {fact.aggregateId!r} given the state of {state.id!r}")
    if fact.eventName not in TRANSITIONS:
        raise UnknownEventError(f"no Kuenta transition for {fact.eventName!r}")
    status, final = TRANSITIONS[fact.eventName]
    alerts = EFFECTS.get(fact.eventName, _no_alerts)(fact)
    step = advance(state.history if state else (), fact, status, final=final, rank=RANKS[family].__getitem__)
    if step is None:
        assert state is not None
        return state, alerts
    history, decisive = step
    amount, amount_event_id = _latest_amount(state, fact, history)
    return (
        trusted(KuentaState, {  # the family is a known event's, the rest validated parts: no re-validation
            "id": fact.aggregateId, "family": family, "status": decisive.status, "updatedAt": decisive.occurredAt,
            "history": history, "amount": amount, "amountEventId": amount_event_id,
        }),
        alerts,
    )


def _latest_amount(
    state: KuentaState | None, fact: Fact, history: tuple[HistoryEntry, ...]
) -> tuple[Decimal | None, str | None]:
    """Of two amounts, the one whose event is later in the history stands (arrival order aside)."""
    held: tuple[Decimal | None, str | None] = (state.amount, state.amountEventId) if state else (None, None)
    assert isinstance(fact.event, KuentaEvent)
    new = fact.event.data.amount
    if new is None:
        return held
    if held[1] is None:
        return new, fact.eventId
    return (new, fact.eventId) if is_later(history, fact.eventId, than=held[1]) else held
