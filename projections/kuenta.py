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

from typing import NamedTuple, cast

from projections.history import advance, later
from schemas.alerts import Alert, make_alert
from schemas.errors import UnknownEventError
from schemas.history import Fact
from schemas.kuenta import (
    KUENTA_EVENT_NAMES, KuentaCreditEvent, KuentaDocumentEvent, KuentaEvent, KuentaPaymentEvent, KuentaState,
    KuentaValidationEvent, identifying_members, status_of,
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

#: Events that raise an alert, and its type.
ALERTS: dict[str, str] = {
    "payment.failed": "kuenta_payment_failed",
    "payment.refunded": "kuenta_payment_refunded",
    "credit.application.rejected": "kuenta_credit_rejected",
    "document.expired": "kuenta_document_expired",
    "validation.failed": "kuenta_validation_failed",
}


class Family(NamedTuple):
    """One family's event class: its name and how its statuses rank."""

    name: str
    rank: dict[str, int]


#: event class -> its family. Kuenta's events are typed per family (the status is the name's
#: last dotted part), so within a family the event name picks a row of TRANSITIONS.
FAMILIES: dict[type[KuentaEvent], Family] = {
    event_type: Family(name, RANKS[name])
    for event_type, name in ((KuentaCreditEvent, "credit"), (KuentaPaymentEvent, "payment"),
                             (KuentaDocumentEvent, "document"), (KuentaValidationEvent, "validation"))
}


class Transition(NamedTuple):
    """What one event name does: the status after it, whether that is final, and its alert type."""

    status: str
    final: bool
    alert: str | None


TRANSITIONS: dict[str, Transition] = {
    name: Transition(status_of(name), name in FINAL_EVENTS, ALERTS.get(name)) for name in sorted(KUENTA_EVENT_NAMES)
}


def _alert(alert_type: str, family: str, fact: Fact, event: KuentaEvent) -> Alert:
    """Details: family, event name, the members that name the thing, and the amount when known."""
    details: dict[str, object] = {"family": family, "eventName": fact.eventName, **identifying_members(event.data)}
    if event.data.amount is not None:
        details["amount"] = event.data.amount
    return make_alert(
        alert_type, source=fact.source, aggregate_id=fact.aggregateId, event_id=fact.eventId,
        occurred_at=fact.occurredAt, details=details,
    )


def fold_kuenta(state: KuentaState | None, fact: Fact) -> tuple[KuentaState, tuple[Alert, ...]]:
    """Apply one event. A repeat returns the same state object and re-derives the same alerts
    (same ids), so a crash between saving state and sending alerts loses no alert."""
    family = FAMILIES.get(type(fact.event))
    if family is None:
        raise TypeError(f"fold_kuenta takes Kuenta events, not {type(fact.event).__name__}")
    event = cast(KuentaEvent, fact.event)  # every FAMILIES key is a KuentaEvent
    if state is not None and state.family != family.name:
        raise TypeError(
            f"fold_kuenta: {fact.eventName!r} is a {family.name} event but state {state.id!r} is a "
            f"{state.family}; key Kuenta states by (family, id)"
        )
    if state is not None and state.id != fact.aggregateId:
        raise TypeError(f"fold_kuenta: event for {fact.aggregateId!r} given the state of {state.id!r}")
    transition = TRANSITIONS.get(fact.eventName)
    if transition is None:
        raise UnknownEventError(f"no Kuenta transition for {fact.eventName!r}")
    alerts = () if transition.alert is None else (_alert(transition.alert, family.name, fact, event),)
    step = advance(state.history if state else (), fact, transition.status, final=transition.final,
                   rank=family.rank.__getitem__)
    if step is None:
        assert state is not None
        return state, alerts
    history, decisive = step
    held = (state.amount, state.amountEventId) if state else (None, None)
    new = event.data.amount
    # of two amounts, the one whose event is later in the history stands (arrival order aside)
    amount, amount_event_id = (new, fact.eventId) if later(history, None if new is None else fact.eventId,
                                                           than=held[1]) else held
    return (
        trusted(KuentaState, {  # the family is a known event's, the rest validated parts: no re-validation
            "id": fact.aggregateId, "family": family.name, "status": decisive.status,
            "updatedAt": decisive.occurredAt, "history": history,
            "historyOmitted": state.historyOmitted if state else 0, "amount": amount, "amountEventId": amount_event_id,
        }),
        alerts,
    )
