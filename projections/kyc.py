"""Koywe user fold: `(UserState | None, Fact) -> (UserState, alerts)`.

From koywe-webhooks-states-callbacks.es.txt: verification_started moves notVerified ->
processing, verification_inputs_completed stays processing, verification_completed gives
verified or reviewNeeded (manual review then gives verified or rejected), verification_expired
(30 min after start) goes back to notVerified. The latest KYC event by time decides; no KYC
status is final (a user may verify again). Document-number updates and deposits without an
order are part of the user's state and each raises an alert.
"""

from __future__ import annotations

from collections.abc import Callable

from projections.history import effective, entry_for, insert, seen
from schemas.alerts import Alert, make_alert
from schemas.history import Fact
from schemas.trusted import trusted
from schemas.koywe_users import KYC_EVENTS, KoyweUserEvent
from schemas.users import Deposit, DocumentUpdate, KycStatus, UserState

K = KycStatus
RANK = {K.NOT_VERIFIED: 0, K.PROCESSING: 1, K.REVIEW_NEEDED: 2, K.VERIFIED: 3, K.REJECTED: 3}
_STATIC = {"verification_started": K.PROCESSING, "verification_inputs_completed": K.PROCESSING,
           "verification_expired": K.NOT_VERIFIED}


def _rank(status: str) -> int:
    return RANK.get(status, 0)  # type: ignore[call-overload]


def _event(fact: Fact) -> KoyweUserEvent:
    if not isinstance(fact.event, KoyweUserEvent):
        raise TypeError(f"fold_user takes Koywe user events, not {type(fact.event).__name__}")
    return fact.event


def _alert(alert_type: str, fact: Fact, **details: object) -> Alert:
    return make_alert(alert_type, source=fact.source, aggregate_id=fact.aggregateId, event_id=fact.eventId,
                      occurred_at=fact.occurredAt, details={"eventName": fact.eventName, **details})


def _kyc_status(fact: Fact) -> str:
    event = _event(fact)
    return _STATIC.get(event.eventName) or str(event.outcome)


def _kyc_alerts(fact: Fact) -> tuple[Alert, ...]:
    status = _kyc_status(fact)
    if status == K.REVIEW_NEEDED:
        return (_alert("kyc_review_needed", fact, userId=fact.aggregateId),)
    if status == K.REJECTED:
        return (_alert("kyc_rejected", fact, userId=fact.aggregateId),)
    return ()


def _document_alerts(fact: Fact) -> tuple[Alert, ...]:
    event = _event(fact)
    failed = event.outcome == "document_number_failed_to_update"
    kind = "document_number_update_failed" if failed else "document_number_updated"
    return (_alert(kind, fact, userId=fact.aggregateId, outcome=event.outcome, message=event.message),)


def _deposit_alerts(fact: Fact) -> tuple[Alert, ...]:
    event = _event(fact)
    return (_alert("deposit_without_order", fact, userId=fact.aggregateId, amount=event.amount,
                   currency=event.currency, payload=event.model_extra or {}),)


ALERTS: dict[str, Callable[[Fact], tuple[Alert, ...]]] = {
    "kyc": _kyc_alerts, "document": _document_alerts, "deposit": _deposit_alerts,
}


def _document(state: UserState | None, fact: Fact) -> DocumentUpdate | None:
    """The later of the stored and the new document outcome (ties by event id: order-proof)."""
    old = state.documentNumber if state else None
    event = _event(fact)
    if event.kind != "document":
        return old
    new = DocumentUpdate(status=str(event.outcome), message=event.message, eventId=fact.eventId,
                         updatedAt=fact.occurredAt)
    if old is None or (new.updatedAt, new.eventId) > (old.updatedAt, old.eventId):
        return new
    return old


def _deposits(state: UserState | None, fact: Fact) -> tuple[Deposit, ...]:
    old = state.deposits if state else ()
    event = _event(fact)
    if event.kind != "deposit":
        return old
    new = Deposit(eventId=fact.eventId, amount=event.amount, currency=event.currency,
                  receivedAt=fact.occurredAt, details=event.model_extra or {})
    return tuple(sorted((*old, new), key=lambda d: (d.receivedAt, d.eventId)))


def fold_user(state: UserState | None, fact: Fact) -> tuple[UserState, tuple[Alert, ...]]:
    """Apply one user event; a repeat returns the same state and the same alert ids."""
    event = _event(fact)
    alerts = ALERTS[event.kind](fact)
    if state is not None and seen(state.history, fact.eventId):
        return state, alerts
    status = _kyc_status(fact) if event.kind == "kyc" else str(event.outcome or "registered")
    history = insert(state.history if state else (), entry_for(fact, status, final=False), _rank)
    kyc_entries = [entry for entry in history if entry.eventName in KYC_EVENTS]
    return (
        trusted(UserState, {  # validated parts and our own enum: no re-validation
            "userId": fact.aggregateId,
            "kyc": KycStatus(effective(kyc_entries).status) if kyc_entries else K.NOT_VERIFIED,
            "updatedAt": history[-1].occurredAt, "history": history,
            "documentNumber": _document(state, fact), "deposits": _deposits(state, fact),
        }),
        alerts,
    )
