"""The Koywe order fold, rule by rule, against the provider's own table of states."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from projections.orders import fold_order
from schemas.history import Fact
from schemas.orders import OrderState
from tests.conftest import fold_facts

pytestmark = pytest.mark.unit

# Written out by hand from koywe-webhooks-states-callbacks.es.txt ("El estado de la orden será …").
DOC_STATES = {
    "payment_created": "WAITING",
    "payment_received": "PENDING",
    "payment_received_modified_order_amount": "PENDING",
    "payment_rejected": "REJECTED",
    "wire_order_canceled": "REJECTED",
    "payment_rejected_by_compliance": "REJECTED",
    "payment_expired": "REJECTED",
    "crypto_tx_sent": "IN_PROGRESS",
    "crypto_delivered": "DELIVERED",
    "crypto_tx_failed": "REJECTED",
    "fiat_sent": "IN_PROGRESS",
    "fiat_delivered": "DELIVERED",
    "invalid_withdrawals_details": "INVALID_WITHDRAWALS_DETAILS",
}

MODIFIED = {
    "originalOrder": {"orderId": "ord-1", "amountIn": 401.25, "amountOut": 100, "symbolIn": "PEN"},
    "orderAdjustedByBankIncome": {"orderId": "ord-1", "amountIn": 1500, "amountOut": 373.83, "symbolIn": "PEN"},
}


def extra_for(name: str) -> dict:
    return MODIFIED if name == "payment_received_modified_order_amount" else {}


def fold_all(facts: Sequence[Fact]) -> tuple[OrderState, list]:
    return fold_facts(fold_order, facts)


@pytest.mark.parametrize(("event_name", "expected"), sorted(DOC_STATES.items()))
def test_each_event_leads_to_the_documented_state(koywe_fact: Callable[..., Fact], event_name: str, expected: str) -> None:
    state, _ = fold_order(None, koywe_fact(event_name, seconds=5, **extra_for(event_name)))
    assert state.state == expected
    assert [entry.eventName for entry in state.history] == [event_name]


@pytest.mark.parametrize("event_name", sorted(DOC_STATES))
def test_each_event_moves_a_waiting_order_when_later(koywe_fact: Callable[..., Fact], event_name: str) -> None:
    state, _ = fold_all([koywe_fact("payment_created", seconds=0), koywe_fact(event_name, seconds=1, **extra_for(event_name))])
    assert state.state == DOC_STATES[event_name]
    assert len(state.history) == 2


def test_a_repeat_changes_nothing(koywe_fact: Callable[..., Fact]) -> None:
    first, _ = fold_order(None, koywe_fact("payment_created", seconds=0))
    second, _ = fold_order(first, koywe_fact("payment_received", seconds=1))
    again, alerts = fold_order(second, koywe_fact("payment_received", seconds=1))
    assert again is second
    assert alerts == ()


def test_a_repeat_rederives_the_same_alert_ids(koywe_fact: Callable[..., Fact]) -> None:
    fact = koywe_fact("payment_received_modified_order_amount", seconds=1, **MODIFIED)
    state, alerts = fold_order(None, fact)
    same, repeated = fold_order(state, koywe_fact("payment_received_modified_order_amount", seconds=1, **MODIFIED))
    assert same is state
    assert [a.id for a in repeated] == [a.id for a in alerts] and len(alerts) == 1


def test_a_late_older_event_is_kept_but_never_moves_the_state_back(koywe_fact: Callable[..., Fact]) -> None:
    state, _ = fold_all([koywe_fact("payment_created", seconds=0), koywe_fact("crypto_tx_sent", seconds=20)])
    late, _ = fold_order(state, koywe_fact("payment_received", seconds=10))
    assert late.state == "IN_PROGRESS"
    assert [e.eventName for e in late.history] == ["payment_created", "payment_received", "crypto_tx_sent"]
    assert late.updatedAt == state.updatedAt


ONRAMP = [("payment_created", 0), ("payment_received", 10), ("crypto_tx_sent", 20), ("crypto_delivered", 30)]
OFFRAMP_WITH_CORRECTION = [
    ("payment_created", 0), ("payment_received", 10), ("fiat_sent", 20),
    ("invalid_withdrawals_details", 30), ("fiat_sent", 40), ("fiat_delivered", 50),
]
ONRAMP_WITH_RETRY = [
    ("payment_created", 0), ("payment_received", 10), ("crypto_tx_sent", 20),
    ("crypto_tx_failed", 30), ("crypto_tx_sent", 40), ("crypto_delivered", 50),
]


@pytest.mark.parametrize("lifecycle", [ONRAMP, OFFRAMP_WITH_CORRECTION, ONRAMP_WITH_RETRY], ids=["onramp", "offramp-corrected", "onramp-retried"])
def test_every_arrival_order_gives_the_same_final_state(koywe_fact: Callable[..., Fact], lifecycle: list) -> None:
    facts = [koywe_fact(name, seconds=t) for name, t in lifecycle]
    reference, _ = fold_all(facts)
    assert reference.state == "DELIVERED"
    for permutation in itertools.permutations(facts):
        state, _ = fold_all(permutation)
        assert state == reference


@pytest.mark.parametrize("prefix_length", range(1, 7))
def test_every_prefix_of_a_shuffled_lifecycle_shows_the_latest_event(koywe_fact: Callable[..., Fact], prefix_length: int) -> None:
    facts = [koywe_fact(name, seconds=t) for name, t in OFFRAMP_WITH_CORRECTION]
    for permutation in itertools.permutations(facts[:prefix_length]):
        state, _ = fold_all(permutation)
        latest = max(permutation, key=lambda f: f.occurredAt)
        assert state.state == DOC_STATES[latest.eventName]


def test_crypto_tx_failed_is_not_final(koywe_fact: Callable[..., Fact]) -> None:
    failed, _ = fold_all([koywe_fact("crypto_tx_sent", seconds=1), koywe_fact("crypto_tx_failed", seconds=2)])
    assert failed.state == "REJECTED"
    retried, _ = fold_order(failed, koywe_fact("crypto_tx_sent", seconds=3))
    assert retried.state == "IN_PROGRESS"
    delivered, _ = fold_order(retried, koywe_fact("crypto_delivered", seconds=4))
    assert delivered.state == "DELIVERED"


def test_invalid_withdrawals_details_is_not_final(koywe_fact: Callable[..., Fact]) -> None:
    invalid, _ = fold_all([koywe_fact("fiat_sent", seconds=1), koywe_fact("invalid_withdrawals_details", seconds=2)])
    assert invalid.state == "INVALID_WITHDRAWALS_DETAILS"
    resent, _ = fold_order(invalid, koywe_fact("fiat_sent", seconds=3))
    assert resent.state == "IN_PROGRESS"


@pytest.mark.parametrize("final_event", ["payment_rejected", "payment_expired", "wire_order_canceled", "payment_rejected_by_compliance", "crypto_delivered", "fiat_delivered"])
def test_a_final_state_is_not_reopened_by_a_stray_later_event(koywe_fact: Callable[..., Fact], final_event: str) -> None:
    state, _ = fold_all([koywe_fact(final_event, seconds=5), koywe_fact("payment_received", seconds=6)])
    assert state.state == DOC_STATES[final_event]
    assert len(state.history) == 2


def test_equal_timestamps_resolve_towards_the_further_state(koywe_fact: Callable[..., Fact]) -> None:
    a, _ = fold_all([koywe_fact("payment_created", seconds=1), koywe_fact("payment_received", seconds=1)])
    b, _ = fold_all([koywe_fact("payment_received", seconds=1), koywe_fact("payment_created", seconds=1)])
    assert a.state == b.state == "PENDING"
    assert [e.eventId for e in a.history] == [e.eventId for e in b.history]


def test_amount_modified_alert_carries_both_amounts_and_the_difference(koywe_fact: Callable[..., Fact]) -> None:
    state, alerts = fold_order(None, koywe_fact("payment_received_modified_order_amount", seconds=1, **MODIFIED))
    (alert,) = alerts
    assert alert.type == "order_amount_modified" and alert.aggregateId == "ord-1"
    assert alert.details["differenceIn"] == Decimal("1098.75")
    assert alert.details["differenceOut"] == Decimal("273.83")
    assert alert.details["originalOrder"]["amountIn"] == "401.25"
    assert alert.details["orderAdjustedByBankIncome"]["amountIn"] == "1500"
    assert state.adjustment is not None and state.adjustment.adjustedAmountIn == Decimal("1500")


def test_the_later_of_two_requotes_stands_whatever_their_arrival(koywe_fact: Callable[..., Fact]) -> None:
    second_quote = {**MODIFIED, "orderAdjustedByBankIncome": {"amountIn": 2000}}
    early = koywe_fact("payment_received_modified_order_amount", seconds=1, **MODIFIED)
    late = koywe_fact("payment_received_modified_order_amount", seconds=2, **second_quote)
    for facts in ([early, late], [late, early]):
        state, _ = fold_all(facts)
        assert state.adjustment is not None and state.adjustment.adjustedAmountIn == Decimal("2000")


def test_compliance_rejection_and_failed_crypto_tx_raise_alerts(koywe_fact: Callable[..., Fact]) -> None:
    _, alerts = fold_all([koywe_fact("payment_rejected_by_compliance", "o-a", seconds=1)])
    assert [a.type for a in alerts] == ["order_rejected_by_compliance"]
    _, alerts = fold_all([koywe_fact("crypto_tx_failed", "o-b", seconds=1)])
    assert [a.type for a in alerts] == ["order_crypto_tx_failed"]


def test_every_order_event_class_has_exactly_one_rule() -> None:
    """The fold dispatches on the event's class: a class without a rule would be refused."""
    from typing import get_args

    from projections.orders import RULES
    from schemas.koywe import KoyweOrderEvent

    union, _discriminator = get_args(KoyweOrderEvent)
    assert set(RULES) == set(get_args(union))
    names = {get_args(cls.model_fields["eventName"].annotation)[0]: rule for cls, rule in RULES.items()}
    assert {name: rule.status.value for name, rule in names.items()} == DOC_STATES



def test_another_providers_fact_is_refused() -> None:
    from schemas.decoding import decode_fact
    from schemas.envelope import new_envelope
    from tests.conftest import T0

    user_fact = decode_fact(new_envelope(source="koywe", key="a@b.c", event_name="verification_started",
                                         body=b'{"eventName":"verification_started","email":"a@b.c"}', received_at=T0))
    with pytest.raises(TypeError, match="fold_order takes Koywe order events, not KoyweKycEvent"):
        fold_order(None, user_fact)
