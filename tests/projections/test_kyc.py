"""The Koywe user fold (KYC, document number, deposits) against the provider's doc."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from projections.kyc import fold_user
from schemas.history import Fact
from schemas.decoding import decode_fact
from schemas.users import UserState
from tests.conftest import fold_facts, koywe_user_envelope

pytestmark = pytest.mark.unit
USER = "ana@example.com"


@pytest.fixture
def user_fact() -> Callable[..., Fact]:
    """Factory: a decoded per-user Koywe event for USER at T0+seconds."""

    def make(event_name: str, seconds: float = 0, user: str = USER, **extra: object) -> Fact:
        return decode_fact(koywe_user_envelope(event_name, seconds, user, **extra))

    return make


def fold_all(facts: Sequence[Fact]) -> tuple[UserState, list]:
    return fold_facts(fold_user, facts)


def test_the_documented_happy_path(user_fact: Callable[..., Fact]) -> None:
    steps = [("verification_started", {}, "processing"), ("verification_inputs_completed", {}, "processing"),
             ("verification_completed", {"status": "verified"}, "verified")]
    state = None
    for i, (name, extra, expected) in enumerate(steps):
        state, _ = fold_user(state, user_fact(name, i, **extra))
        assert state.kyc == expected


def test_review_needed_then_manual_review_outcomes(user_fact: Callable[..., Fact]) -> None:
    review, alerts = fold_all([user_fact("verification_started", 0),
                               user_fact("verification_completed", 1, status="reviewNeeded")])
    assert review.kyc == "reviewNeeded" and [a.type for a in alerts] == ["kyc_review_needed"]
    approved, _ = fold_user(review, user_fact("verification_completed", 2, status="verified"))
    assert approved.kyc == "verified"
    rejected, alerts = fold_user(review, user_fact("verification_completed", 2, status="rejected"))
    assert rejected.kyc == "rejected" and [a.type for a in alerts] == ["kyc_rejected"]


def test_expiry_goes_back_to_not_verified_but_a_late_expiry_does_not(user_fact: Callable[..., Fact]) -> None:
    expired, _ = fold_all([user_fact("verification_started", 0), user_fact("verification_expired", 1800)])
    assert expired.kyc == "notVerified"
    verified, _ = fold_all([user_fact("verification_started", 0),
                            user_fact("verification_completed", 600, status="verified"),
                            user_fact("verification_expired", 300)])
    assert verified.kyc == "verified" and len(verified.history) == 3


def test_every_arrival_order_gives_the_same_state(user_fact: Callable[..., Fact]) -> None:
    facts = [user_fact("verification_started", 0), user_fact("verification_inputs_completed", 1),
             user_fact("verification_completed", 2, status="reviewNeeded"),
             user_fact("verification_completed", 3, status="verified"),
             user_fact("document_number_sucessfully_updated", 4),
             user_fact("deposit_without_order", 5, amount=250000, currency="CLP")]
    reference, _ = fold_all(facts)
    assert reference.kyc == "verified"
    for permutation in itertools.permutations(facts):
        assert fold_all(permutation)[0] == reference


def test_a_repeat_changes_nothing_and_repeats_its_alert_id(user_fact: Callable[..., Fact]) -> None:
    state, alerts = fold_user(None, user_fact("verification_completed", 1, status="rejected"))
    again, repeated = fold_user(state, user_fact("verification_completed", 1, status="rejected"))
    assert again is state and [a.id for a in repeated] == [a.id for a in alerts]


@pytest.mark.parametrize(
    ("event_name", "extra", "status", "alert"),
    [
        ("document_number_sucessfully_updated", {}, "document_number_sucessfully_updated", "document_number_updated"),
        ("document_number_failed_to_update", {"message": "Account not found"}, "document_number_failed_to_update",
         "document_number_update_failed"),
        ("UPDATE_DOCUMENT_NUMBER", {"status": "document_number_failed_to_update",
                                    "message": "There is incompatible personal info between the account and metamap"},
         "document_number_failed_to_update", "document_number_update_failed"),
    ],
)
def test_document_number_updates(user_fact: Callable[..., Fact], event_name: str, extra: dict, status: str, alert: str) -> None:
    state, alerts = fold_user(None, user_fact(event_name, 1, **extra))
    assert state.documentNumber is not None and state.documentNumber.status == status
    assert state.documentNumber.message == extra.get("message")
    assert [a.type for a in alerts] == [alert] and state.kyc == "notVerified"


def test_the_later_document_outcome_stands(user_fact: Callable[..., Fact]) -> None:
    failed = user_fact("document_number_failed_to_update", 1, message="Account not found")
    ok = user_fact("document_number_sucessfully_updated", 2)
    for facts in ([failed, ok], [ok, failed]):
        state, _ = fold_all(facts)
        assert state.documentNumber is not None and state.documentNumber.status == "document_number_sucessfully_updated"


@pytest.mark.parametrize("event_name", ["NEW_DEPOSIT_REGISTERED", "deposit_without_order"])
def test_a_deposit_without_order_is_money_to_reconcile(user_fact: Callable[..., Fact], event_name: str) -> None:
    state, alerts = fold_user(None, user_fact(event_name, 1, amount=1500.5, currency="PEN", depositId="dep-9"))
    (deposit,) = state.deposits
    assert deposit.amount == Decimal("1500.5") and deposit.currency == "PEN"
    (alert,) = alerts
    assert alert.type == "deposit_without_order" and alert.aggregateId == USER
    assert alert.details["amount"] == Decimal("1500.5") and alert.details["payload"]["depositId"] == "dep-9"
    again, _ = fold_user(state, user_fact(event_name, 1, amount=1500.5, currency="PEN", depositId="dep-9"))
    assert len(again.deposits) == 1


def test_an_order_fact_is_refused(koywe_fact: Callable[..., Fact]) -> None:
    with pytest.raises(TypeError, match="fold_user takes Koywe user events, not PaymentCreated"):
        fold_user(None, koywe_fact("payment_created"))
