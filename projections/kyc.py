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
from typing import Any, NamedTuple

from projections.history import effective, entry_for, insert, seen
from schemas.alerts import Alert, make_alert
from schemas.history import Fact
from schemas.koywe_users import KYC_EVENTS, KoyweDepositEvent, KoyweDocumentEvent, KoyweKycEvent, KoyweUserEvent
from schemas.trusted import trusted
from schemas.users import Deposit, DocumentUpdate, KycStatus, UserState

K = KycStatus
RANK = {K.NOT_VERIFIED: 0, K.PROCESSING: 1, K.REVIEW_NEEDED: 2, K.VERIFIED: 3, K.REJECTED: 3}
_STATIC = {"verification_started": K.PROCESSING, "verification_inputs_completed": K.PROCESSING,
           "verification_expired": K.NOT_VERIFIED}


class Step(NamedTuple):
    """What one user event does: the status its history entry records, the alerts it raises
    (re-derived for a repeat, same ids) and the state members it sets (ignored for a repeat)."""

    status: str
    alerts: tuple[Alert, ...]
    changes: dict[str, Any]


def _rank(status: str) -> int:
    return RANK.get(status, 0)  # type: ignore[call-overload]


def _alert(alert_type: str, fact: Fact, **details: object) -> Alert:
    return make_alert(alert_type, source=fact.source, aggregate_id=fact.aggregateId, event_id=fact.eventId,
                      occurred_at=fact.occurredAt, details={"eventName": fact.eventName, "userId": fact.aggregateId,
                                                            **details})


def _kyc(state: UserState | None, fact: Fact, event: KoyweKycEvent) -> Step:
    status = _STATIC.get(event.eventName) or str(event.outcome)
    if status == K.REVIEW_NEEDED:
        return Step(status, (_alert("kyc_review_needed", fact),), {})
    if status == K.REJECTED:
        return Step(status, (_alert("kyc_rejected", fact),), {})
    return Step(status, (), {})


def _document(state: UserState | None, fact: Fact, event: KoyweDocumentEvent) -> Step:
    """The later of the stored and the new document outcome stands (ties by event id: order-proof)."""
    failed = event.outcome == "document_number_failed_to_update"
    alert = _alert("document_number_update_failed" if failed else "document_number_updated", fact,
                   outcome=event.outcome, message=event.message)
    old = state.documentNumber if state else None
    new = DocumentUpdate(status=str(event.outcome), message=event.message, eventId=fact.eventId,
                         updatedAt=fact.occurredAt)
    later = new if old is None or (new.updatedAt, new.eventId) > (old.updatedAt, old.eventId) else old
    return Step(str(event.outcome), (alert,), {"documentNumber": later})


def _deposit(state: UserState | None, fact: Fact, event: KoyweDepositEvent) -> Step:
    alert = _alert("deposit_without_order", fact, amount=event.amount, currency=event.currency,
                   payload=event.model_extra or {})
    new = Deposit(eventId=fact.eventId, amount=event.amount, currency=event.currency,
                  receivedAt=fact.occurredAt, details=event.model_extra or {})
    deposits = tuple(sorted((*(state.deposits if state else ()), new), key=lambda d: (d.receivedAt, d.eventId)))
    return Step("registered", (alert,), {"deposits": deposits})


#: event class -> what it does; anything else is not a Koywe user event.
STEPS: dict[type[KoyweUserEvent], Callable[[UserState | None, Fact, Any], Step]] = {
    KoyweKycEvent: _kyc, KoyweDocumentEvent: _document, KoyweDepositEvent: _deposit,
}


def fold_user(state: UserState | None, fact: Fact) -> tuple[UserState, tuple[Alert, ...]]:
    """Apply one user event; a repeat returns the same state and the same alert ids."""
    step = STEPS.get(type(fact.event))
    if step is None:
        raise TypeError(f"fold_user takes Koywe user events, not {type(fact.event).__name__}")
    status, alerts, changes = step(state, fact, fact.event)
    if state is not None and seen(state.history, fact.eventId):
        return state, alerts
    history = insert(state.history if state else (), entry_for(fact, status, final=False), _rank)
    kyc_entries = [entry for entry in history if entry.eventName in KYC_EVENTS]
    fields: dict[str, Any] = {  # validated parts and our own enum: no re-validation
        "userId": fact.aggregateId,
        "kyc": KycStatus(effective(kyc_entries).status) if kyc_entries else K.NOT_VERIFIED,
        "updatedAt": history[-1].occurredAt, "history": history,
        "historyOmitted": state.historyOmitted if state else 0,
        "documentNumber": state.documentNumber if state else None, "deposits": state.deposits if state else (),
    }
    fields.update(changes)  # existing keys: the declaration order stays
    return trusted(UserState, fields), alerts
