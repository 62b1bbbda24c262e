"""Koywe order fold: `(OrderState | None, Fact) -> (OrderState, alerts)`.

Rules, from ../shared/provider-docs/koywe-webhooks-states-callbacks.es.txt (newest doc):
each event names the state the order "will be" in; `crypto_tx_failed` and
`invalid_withdrawals_details` are not final (Koywe retries / details get corrected and a later
`crypto_tx_sent` / `fiat_sent` comes again); delivered and the other rejections are final.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from projections.history import advance, is_later
from schemas.alerts import Alert, make_alert
from schemas.history import Fact, HistoryEntry
from schemas.koywe import KoyweOrderEventBase, KoyweOrderSnapshot, PaymentReceivedModifiedOrderAmount
from schemas.orders import AmountAdjustment, OrderState, OrderStatus
from schemas.trusted import trusted

S = OrderStatus

#: event name -> (state after it, is it final?)
TRANSITIONS: dict[str, tuple[OrderStatus, bool]] = {
    "payment_created": (S.WAITING, False),
    "payment_received": (S.PENDING, False),
    "payment_received_modified_order_amount": (S.PENDING, False),
    "payment_rejected": (S.REJECTED, True),
    "payment_rejected_by_compliance": (S.REJECTED, True),
    "wire_order_canceled": (S.REJECTED, True),
    "payment_expired": (S.REJECTED, True),
    "crypto_tx_sent": (S.IN_PROGRESS, False),
    "fiat_sent": (S.IN_PROGRESS, False),
    "crypto_delivered": (S.DELIVERED, True),
    "fiat_delivered": (S.DELIVERED, True),
    "crypto_tx_failed": (S.REJECTED, False),
    "invalid_withdrawals_details": (S.INVALID_WITHDRAWALS_DETAILS, False),
}

#: Tie-break for events with the same timestamp: further along the lifecycle wins.
RANK: dict[str, int] = {status.value: rank for rank, status in enumerate(OrderStatus)}

#: status text -> member: a dict lookup is cheaper than calling the enum on every event (the
#: enum still judges text it does not know).
STATUS: dict[str, OrderStatus] = {status.value: status for status in OrderStatus}


class Effect(NamedTuple):
    """What one event does beyond its state transition."""

    adjustment: AmountAdjustment | None
    alerts: tuple[Alert, ...]


_NOTHING = Effect(None, ())


def _no_effect(fact: Fact) -> Effect:
    return _NOTHING


def _alert(alert_type: str, fact: Fact, **details: object) -> Alert:
    return make_alert(
        alert_type, source=fact.source, aggregate_id=fact.aggregateId, event_id=fact.eventId,
        occurred_at=fact.occurredAt, details={"eventName": fact.eventName, **details},
    )


def _difference(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    return None if before is None or after is None else after - before


def _amount_modified(fact: Fact) -> Effect:
    """The deposit differed from the quote: record both orders and alert with the difference."""
    event = fact.event
    assert isinstance(event, PaymentReceivedModifiedOrderAmount)
    original: KoyweOrderSnapshot = event.originalOrder
    adjusted: KoyweOrderSnapshot = event.orderAdjustedByBankIncome
    adjustment = AmountAdjustment(
        eventId=fact.eventId,
        originalAmountIn=original.amountIn, adjustedAmountIn=adjusted.amountIn,
        originalAmountOut=original.amountOut, adjustedAmountOut=adjusted.amountOut,
    )
    alert = _alert(
        "order_amount_modified", fact,
        originalOrder=original.model_dump(mode="json"),
        orderAdjustedByBankIncome=adjusted.model_dump(mode="json"),
        differenceIn=_difference(original.amountIn, adjusted.amountIn),
        differenceOut=_difference(original.amountOut, adjusted.amountOut),
    )
    return Effect(adjustment, (alert,))


def _rejected_by_compliance(fact: Fact) -> Effect:
    return Effect(None, (_alert("order_rejected_by_compliance", fact),))


def _crypto_tx_failed(fact: Fact) -> Effect:
    return Effect(None, (_alert("order_crypto_tx_failed", fact),))


EFFECTS: dict[str, Callable[[Fact], Effect]] = {
    "payment_received_modified_order_amount": _amount_modified,
    "payment_rejected_by_compliance": _rejected_by_compliance,
    "crypto_tx_failed": _crypto_tx_failed,
}


def fold_order(state: OrderState | None, fact: Fact) -> tuple[OrderState, tuple[Alert, ...]]:
    """Apply one event. A repeat returns the same state object and re-derives the same alerts
    (same ids), so a crash between saving state and sending alerts loses no alert."""
    if not isinstance(fact.event, KoyweOrderEventBase):
        raise TypeError(f"fold_order takes Koywe order events, not {type(fact.event).__name__}")
    status, final = TRANSITIONS[fact.eventName]
    effect = EFFECTS.get(fact.eventName, _no_effect)(fact)
    step = advance(state.history if state else (), fact, status, final=final, rank=RANK.__getitem__)
    if step is None:
        assert state is not None
        return state, effect.alerts
    history, decisive = step
    return (
        trusted(OrderState, {  # built from the fact, the history and our own enum: nothing to validate
            "orderId": fact.aggregateId, "state": STATUS.get(decisive.status) or OrderStatus(decisive.status),
            "updatedAt": decisive.occurredAt, "history": history,
            "adjustment": _latest_adjustment(state, effect.adjustment, history),
        }),
        effect.alerts,
    )


def _latest_adjustment(
    state: OrderState | None, new: AmountAdjustment | None, history: tuple[HistoryEntry, ...]
) -> AmountAdjustment | None:
    """Of two re-quotes, the one whose event is later in the history stands (arrival order aside)."""
    old = state.adjustment if state else None
    if old is None or new is None:
        return new or old
    return new if is_later(history, new.eventId, than=old.eventId) else old
