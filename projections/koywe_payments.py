"""Koywe Payments API folds: orders, and contacts / merchants / invitations.

Both dedupe on the event's own `id` (the Fact's identity, schemas/koywe_payments.py) through the
shared bookkeeping (`projections.history.advance`); a redelivery of an id with another body keeps
the first and raises `koywe_payments_event_changed`.

Orders (the issue's rules; docs/events.md): the status is a function of the *set* of events.
Steps rank `created` < `approved` = `pending` < `processing` < `paid` < `completed` < `refunded`.
When `paid`, `completed` or `refunded` came, the furthest step stands (the paid path); else a
failure (`failed`, `expired`, `canceled`; the first of them in the history) when one came; else
the furthest step. Equal ranks: the later in the history. Alerts, each with an id that does not
depend on arrival order:

- `koywe_payments_order_conflict`: a failure and the paid path both came (one per failure event);
- `koywe_payments_amount_mismatch`: the paid amount differs from the order's (the paid event's id);
- `koywe_payments_order_not_created`: an event folded into an order whose `order.created` has not
  been seen (by then; a late `order.created` still makes `created` true in the state).

Contacts, merchants, invitations: status = the decisive event's part after the dot
(`projections.history.effective`: a `deleted` ends the resource), data = the latest event's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from projections.history import advance, later
from schemas.alerts import Alert, make_alert
from schemas.history import Fact, HistoryEntry
from schemas.koywe_payments import PaymentsDelivery, family_of, status_of
from schemas.koywe_payments_states import PaymentsOrderState, PaymentsOrderStatus, PaymentsResourceState
from schemas.trusted import trusted

S = PaymentsOrderStatus

#: Steps of an order's way; a higher rank is further along.
STEP_RANK: dict[str, int] = {"created": 0, "approved": 1, "pending": 1, "processing": 2, "paid": 3, "completed": 4,
                             "refunded": 5}
PAID_PATH: frozenset[str] = frozenset({"paid", "completed", "refunded"})
FAILURES: frozenset[str] = frozenset({"failed", "expired", "canceled"})
#: Tie-break in the history (equal times): steps by rank, failures after every step.
HISTORY_RANK: dict[str, int] = {**STEP_RANK, **{status: 6 for status in FAILURES}}

#: Contacts, merchants, invitations: `created` first, `deleted` last and final, anything else between.
RESOURCE_RANK: dict[str, int] = {"created": 0, "deleted": 2}
RESOURCE_FINAL: frozenset[str] = frozenset({"deleted"})


def _alert(alert_type: str, fact: Fact, event_id: str, **details: object) -> Alert:
    return make_alert(alert_type, source=fact.source, aggregate_id=fact.aggregateId, event_id=event_id,
                      occurred_at=fact.occurredAt, details={"eventName": fact.eventName, **details})


def _delivery(fact: Fact, fold: str) -> PaymentsDelivery:
    if not isinstance(fact.event, PaymentsDelivery):
        raise TypeError(f"{fold} takes Koywe Payments events, not {type(fact.event).__name__}")
    return fact.event


def _changed(fact: Fact, delivery: PaymentsDelivery, digests: dict[str, str]) -> tuple[Alert, ...]:
    """A repeat of an id: an alert if its body differs from the first one's (the first stands)."""
    first = digests.get(fact.eventId)
    if first is None or first == delivery.digest:
        return ()
    return (_alert("koywe_payments_event_changed", fact, fact.eventId, providerEventId=delivery.event.id,
                   firstDigest=first, digest=delivery.digest),)


# --------------------------------------------------------------------------- orders


def order_status(history: Sequence[HistoryEntry]) -> tuple[HistoryEntry, bool]:
    """The entry that decides an order's status, and whether the events conflict. A pure
    function of the set of entries (the history is sorted by `projections.history.insert`)."""
    steps = [e for e in history if e.status in STEP_RANK]
    failures = [e for e in history if e.status in FAILURES]
    paid = any(e.status in PAID_PATH for e in steps)
    if failures and not paid:
        return failures[0], False
    best = steps[0]
    for entry in steps[1:]:
        if STEP_RANK[entry.status] >= STEP_RANK[best.status]:
            best = entry  # sorted: of equal ranks the later one
    return best, bool(failures) and paid


def _order_alerts(state: PaymentsOrderState, fact: Fact, delivery: PaymentsDelivery) -> tuple[Alert, ...]:
    """The alerts this event raises given the order as it stands after it (re-derived alike on a repeat)."""
    status = status_of(delivery.type)
    alerts: list[Alert] = []
    if state.conflict and (status in FAILURES or status in PAID_PATH):
        ids = [fact.eventId] if status in FAILURES else [e.eventId for e in state.history if e.status in FAILURES]
        alerts.extend(_alert("koywe_payments_order_conflict", fact, ident, orderId=state.id, status=state.status.value)
                      for ident in ids)
    if (status in ("paid", "created") and state.paidEventId is not None and state.amount is not None
            and state.paidAmount is not None and state.paidAmount != state.amount):
        alerts.append(_alert("koywe_payments_amount_mismatch", fact, state.paidEventId, orderId=state.id,
                             orderAmount=state.amount, paidAmount=state.paidAmount,
                             difference=state.paidAmount - state.amount, currency=state.currency))
    if not state.created and status != "created":
        alerts.append(_alert("koywe_payments_order_not_created", fact, fact.eventId, orderId=state.id))
    return tuple(alerts)


def _amounts(state: PaymentsOrderState | None, fact: Fact, delivery: PaymentsDelivery,
             history: Sequence[HistoryEntry]) -> dict[str, Any]:
    """amount (the order's, from `order.created`), paidAmount (the latest `order.paid`'s), and
    currency / externalId (the first sent, filled by any event that brings one)."""
    data = delivery.event.data
    status = status_of(delivery.type)
    amount = state.amount if state else None
    paid, paid_id = (state.paidAmount, state.paidEventId) if state else (None, None)
    if data is not None and data.amount is not None:
        if status == "created":
            amount = data.amount
        elif status == "paid" and later(history, fact.eventId, than=paid_id):
            paid, paid_id = data.amount, fact.eventId
    return {
        "amount": amount, "paidAmount": paid, "paidEventId": paid_id,
        "currency": (state.currency if state and state.currency else None) or (data.currency if data else None),
        "externalId": (state.externalId if state and state.externalId else None) or (data.externalId if data else None),
    }


def fold_payments_order(state: PaymentsOrderState | None, fact: Fact) -> tuple[PaymentsOrderState, tuple[Alert, ...]]:
    """Apply one order event. A repeat returns the same state object and re-derives the same alerts."""
    delivery = _delivery(fact, "fold_payments_order")
    status = status_of(delivery.type)
    if status not in HISTORY_RANK:
        raise TypeError(f"fold_payments_order: {delivery.type!r} is no order event")
    step = advance(state.history if state else (), fact, status, final=False, rank=HISTORY_RANK.__getitem__)
    if step is None:
        held = cast(PaymentsOrderState, state)
        return held, _changed(fact, delivery, held.digests) or _order_alerts(held, fact, delivery)
    history, _ = step
    decisive, conflict = order_status(history)
    new = trusted(PaymentsOrderState, {
        "id": fact.aggregateId, "status": S(decisive.status), "updatedAt": decisive.occurredAt, "history": history,
        "historyOmitted": state.historyOmitted if state else 0, **_amounts(state, fact, delivery, history),
        "created": (state.created if state else False) or status == "created", "conflict": conflict,
        "digests": {**(state.digests if state else {}), fact.eventId: delivery.digest},
    })
    return new, _order_alerts(new, fact, delivery)


# --------------------------------------------------------------------------- contacts, merchants, invitations


def _resource_rank(status: str) -> int:
    return RESOURCE_RANK.get(status, 1)


def fold_payments_resource(state: PaymentsResourceState | None,
                           fact: Fact) -> tuple[PaymentsResourceState, tuple[Alert, ...]]:
    """Apply one contact / merchant / invitation event; the latest event's data stands."""
    delivery = _delivery(fact, "fold_payments_resource")
    family, status = family_of(delivery.type), status_of(delivery.type)
    if state is not None and state.family != family:
        raise TypeError(f"fold_payments_resource: a {family} event given the {state.family} state {state.id!r}")
    step = advance(state.history if state else (), fact, status, final=status in RESOURCE_FINAL, rank=_resource_rank)
    if step is None:
        held = cast(PaymentsResourceState, state)
        return held, _changed(fact, delivery, held.digests)
    history, decisive = step
    held_id = state.dataEventId if state else None
    newer = later(history, fact.eventId, than=held_id)
    data = delivery.event.data
    return trusted(PaymentsResourceState, {
        "id": fact.aggregateId, "family": family, "status": decisive.status, "updatedAt": decisive.occurredAt,
        "history": history, "historyOmitted": state.historyOmitted if state else 0,
        "data": data.model_dump(mode="json", exclude_unset=True) if newer and data is not None else (state.data if state else {}),
        "dataEventId": fact.eventId if newer else held_id,
        "digests": {**(state.digests if state else {}), fact.eventId: delivery.digest},
    }), ()



def order_pins(state: PaymentsOrderState) -> tuple[str, ...]:
    """Entries the status rules and the amounts rest on, kept when the history is bounded: the
    created, every paid-path and failure event, the latest step (the rest are steps before it)."""
    kept = [e.eventId for e in state.history if e.status in PAID_PATH or e.status in FAILURES or e.status == "created"]
    steps = [e for e in state.history if e.status in STEP_RANK]
    if steps:
        kept.append(order_status(steps)[0].eventId)
    return tuple(kept)


def resource_pins(state: PaymentsResourceState) -> tuple[str, ...]:
    return (state.dataEventId,) if state.dataEventId else ()
