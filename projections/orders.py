"""Koywe order fold: `(OrderState | None, Fact) -> (OrderState, alerts)`.

Rules, from ../shared/provider-docs/koywe-webhooks-states-callbacks.es.txt (newest doc):
each event names the state the order "will be" in; `crypto_tx_failed` and
`invalid_withdrawals_details` are not final (Koywe retries / details get corrected and a later
`crypto_tx_sent` / `fiat_sent` comes again); delivered and the other rejections are final.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from projections.history import advance, later
from schemas.alerts import Alert, make_alert
from schemas.history import Fact
from schemas.koywe import (
    CryptoDelivered, CryptoTxFailed, CryptoTxSent, FiatDelivered, FiatSent, InvalidWithdrawalsDetails,
    KoyweOrderEventBase, KoyweOrderSnapshot, PaymentCreated, PaymentExpired, PaymentReceived,
    PaymentReceivedModifiedOrderAmount, PaymentRejected, PaymentRejectedByCompliance, WireOrderCanceled,
)
from schemas.orders import AmountAdjustment, OrderState, OrderStatus
from schemas.trusted import trusted

S = OrderStatus


class Effect(NamedTuple):
    """What one event does beyond its state transition."""

    adjustment: AmountAdjustment | None
    alerts: tuple[Alert, ...]


class Rule(NamedTuple):
    """One event type's transition: the state after it, whether that ends the order, and its effect."""

    status: OrderStatus
    final: bool
    effect: Callable[[Fact, Any], Effect]


_NOTHING = Effect(None, ())


def _no_effect(fact: Fact, event: KoyweOrderEventBase) -> Effect:
    return _NOTHING


def _alert(alert_type: str, fact: Fact, **details: object) -> Alert:
    return make_alert(
        alert_type, source=fact.source, aggregate_id=fact.aggregateId, event_id=fact.eventId,
        occurred_at=fact.occurredAt, details={"eventName": fact.eventName, **details},
    )


def _difference(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    return None if before is None or after is None else after - before


def _amount_modified(fact: Fact, event: PaymentReceivedModifiedOrderAmount) -> Effect:
    """The deposit differed from the quote: record both orders and alert with the difference."""
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


def _rejected_by_compliance(fact: Fact, event: PaymentRejectedByCompliance) -> Effect:
    return Effect(None, (_alert("order_rejected_by_compliance", fact),))


def _crypto_tx_failed(fact: Fact, event: CryptoTxFailed) -> Effect:
    return Effect(None, (_alert("order_crypto_tx_failed", fact),))


#: event class -> its rule; anything else is not a Koywe order event.
RULES: dict[type[KoyweOrderEventBase], Rule] = {
    PaymentCreated: Rule(S.WAITING, False, _no_effect),
    PaymentReceived: Rule(S.PENDING, False, _no_effect),
    PaymentReceivedModifiedOrderAmount: Rule(S.PENDING, False, _amount_modified),
    PaymentRejected: Rule(S.REJECTED, True, _no_effect),
    PaymentRejectedByCompliance: Rule(S.REJECTED, True, _rejected_by_compliance),
    WireOrderCanceled: Rule(S.REJECTED, True, _no_effect),
    PaymentExpired: Rule(S.REJECTED, True, _no_effect),
    CryptoTxSent: Rule(S.IN_PROGRESS, False, _no_effect),
    FiatSent: Rule(S.IN_PROGRESS, False, _no_effect),
    CryptoDelivered: Rule(S.DELIVERED, True, _no_effect),
    FiatDelivered: Rule(S.DELIVERED, True, _no_effect),
    CryptoTxFailed: Rule(S.REJECTED, False, _crypto_tx_failed),
    InvalidWithdrawalsDetails: Rule(S.INVALID_WITHDRAWALS_DETAILS, False, _no_effect),
}

#: Tie-break for events with the same timestamp: further along the lifecycle wins.
RANK: dict[str, int] = {status.value: rank for rank, status in enumerate(OrderStatus)}

#: status text -> member: a dict lookup is cheaper than calling the enum on every event (the
#: enum still judges text it does not know).
STATUS: dict[str, OrderStatus] = {status.value: status for status in OrderStatus}


def _event_of(adjustment: AmountAdjustment | None) -> str | None:
    return None if adjustment is None else adjustment.eventId


def fold_order(state: OrderState | None, fact: Fact) -> tuple[OrderState, tuple[Alert, ...]]:
    """Apply one event. A repeat returns the same state object and re-derives the same alerts
    (same ids), so a crash between saving state and sending alerts loses no alert."""
    rule = RULES.get(type(fact.event))
    if rule is None:
        raise TypeError(f"fold_order takes Koywe order events, not {type(fact.event).__name__}")
    effect = rule.effect(fact, fact.event)
    step = advance(state.history if state else (), fact, rule.status, final=rule.final, rank=RANK.__getitem__)
    if step is None:
        assert state is not None
        return state, effect.alerts
    history, decisive = step
    new, old = effect.adjustment, state.adjustment if state else None  # the later re-quote stands
    return (
        trusted(OrderState, {  # built from the fact, the history and our own enum: nothing to validate
            "orderId": fact.aggregateId, "state": STATUS.get(decisive.status) or OrderStatus(decisive.status),
            "updatedAt": decisive.occurredAt, "history": history,
            "historyOmitted": state.historyOmitted if state else 0,
            "adjustment": new if later(history, _event_of(new), than=_event_of(old)) else old,
        }),
        effect.alerts,
    )
