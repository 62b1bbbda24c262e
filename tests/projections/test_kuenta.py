"""The Kuenta fold, rule by rule, against the provider doc's event list (finality is our reading)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from projections.kuenta import fold_kuenta
from schemas.alerts import Alert
from schemas.history import Fact
from schemas.kuenta import KuentaState, decode_kuenta_fact
from tests.conftest import fold_facts
from tests.kuenta_factories import DOC_EXAMPLE, kuenta_envelope_of, kuenta_fact

pytestmark = pytest.mark.unit

# Written out by hand from kuenta-webhooks.es.txt ("Eventos disponibles"): the last dotted part.
DOC_STATUS = {
    "credit.application.created": "created",
    "credit.application.approved": "approved",
    "credit.application.rejected": "rejected",
    "credit.disbursed": "disbursed",
    "credit.completed": "completed",
    "payment.created": "created",
    "payment.completed": "completed",
    "payment.failed": "failed",
    "payment.refunded": "refunded",
    "document.created": "created",
    "document.signed": "signed",
    "document.expired": "expired",
    "validation.started": "started",
    "validation.completed": "completed",
    "validation.failed": "failed",
}

ALERTS = {
    "payment.failed": "kuenta_payment_failed",
    "payment.refunded": "kuenta_payment_refunded",
    "credit.application.rejected": "kuenta_credit_rejected",
    "document.expired": "kuenta_document_expired",
    "validation.failed": "kuenta_validation_failed",
}


def fold_all(facts: Sequence[Fact]) -> tuple[KuentaState, list[Alert]]:
    return fold_facts(fold_kuenta, facts)


def facts_of(lifecycle: Sequence[tuple[str, float]], aggregate_id: str = "agg-1") -> list[Fact]:
    return [kuenta_fact(name, aggregate_id, t) for name, t in lifecycle]


@pytest.mark.parametrize(("event_name", "expected"), sorted(DOC_STATUS.items()))
def test_each_event_leads_to_its_documented_status(event_name: str, expected: str) -> None:
    state, _ = fold_kuenta(None, kuenta_fact(event_name, "agg-1", 5, amount=10))
    assert (state.id, state.family, state.status) == ("agg-1", event_name.split(".")[0], expected)
    assert [entry.eventName for entry in state.history] == [event_name]
    assert state.updatedAt == state.history[0].occurredAt


def test_the_docs_example_folds_to_a_created_credit_with_its_amount() -> None:
    state, alerts = fold_kuenta(None, decode_kuenta_fact(kuenta_envelope_of(DOC_EXAMPLE)))
    assert (state.id, state.family, state.status) == ("app_123", "credit", "created")
    assert state.amount == Decimal("5000000")
    assert alerts == ()


CREDIT = [("credit.application.created", 0), ("credit.application.approved", 10), ("credit.disbursed", 20), ("credit.completed", 30)]
CREDIT_REJECTED = [("credit.application.created", 0), ("credit.application.rejected", 10)]
PAYMENT_RETRIED_REFUNDED = [("payment.created", 0), ("payment.failed", 10), ("payment.completed", 20), ("payment.refunded", 30)]
PAYMENT_RETRIED = [("payment.created", 0), ("payment.failed", 10), ("payment.failed", 15), ("payment.completed", 20)]
DOCUMENT_SIGNED = [("document.created", 0), ("document.signed", 10)]
DOCUMENT_EXPIRED = [("document.created", 0), ("document.expired", 10)]
VALIDATION_COMPLETED = [("validation.started", 0), ("validation.completed", 10)]
VALIDATION_FAILED = [("validation.started", 0), ("validation.failed", 10)]

LIFECYCLES = {
    "credit": (CREDIT, "completed"),
    "credit-rejected": (CREDIT_REJECTED, "rejected"),
    "payment-retried-refunded": (PAYMENT_RETRIED_REFUNDED, "refunded"),
    "payment-retried": (PAYMENT_RETRIED, "completed"),
    "document-signed": (DOCUMENT_SIGNED, "signed"),
    "document-expired": (DOCUMENT_EXPIRED, "expired"),
    "validation-completed": (VALIDATION_COMPLETED, "completed"),
    "validation-failed": (VALIDATION_FAILED, "failed"),
}


@pytest.mark.parametrize("case", sorted(LIFECYCLES))
def test_every_arrival_order_gives_the_same_final_state(case: str) -> None:
    lifecycle, expected = LIFECYCLES[case]
    facts = facts_of(lifecycle)
    reference, reference_alerts = fold_all(facts)
    assert reference.status == expected
    assert len(reference.history) == len(lifecycle)
    for permutation in itertools.permutations(facts):
        state, alerts = fold_all(permutation)
        assert state == reference
        assert {a.id for a in alerts} == {a.id for a in reference_alerts}


@pytest.mark.parametrize("case", ["credit", "payment-retried-refunded"])
def test_redeliveries_anywhere_in_any_order_change_nothing(case: str) -> None:
    lifecycle, _ = LIFECYCLES[case]
    reference, _ = fold_all(facts_of(lifecycle))
    with_repeat = [*lifecycle, lifecycle[1]]
    for permutation in itertools.permutations(facts_of(with_repeat)):
        state, _ = fold_all(permutation)
        # which delivery of the repeated event is recorded depends on arrival; nothing else does
        assert state.model_dump(exclude={"history"}) == reference.model_dump(exclude={"history"})
        assert [e.model_dump(exclude={"deliveryId"}) for e in state.history] == [
            e.model_dump(exclude={"deliveryId"}) for e in reference.history
        ]


@pytest.mark.parametrize("prefix_length", range(1, 5))
def test_every_prefix_of_a_shuffled_payment_shows_its_latest_event(prefix_length: int) -> None:
    facts = facts_of(PAYMENT_RETRIED_REFUNDED)[:prefix_length]
    for permutation in itertools.permutations(facts):
        state, _ = fold_all(permutation)
        assert state.status == DOC_STATUS[max(permutation, key=lambda f: f.occurredAt).eventName]


def test_a_repeat_returns_the_same_state_object() -> None:
    first, _ = fold_kuenta(None, kuenta_fact("payment.created", "p-1", 0))
    second, _ = fold_kuenta(first, kuenta_fact("payment.completed", "p-1", 10))
    again, alerts = fold_kuenta(second, kuenta_fact("payment.completed", "p-1", 10))
    assert again is second
    assert alerts == ()


@pytest.mark.parametrize("event_name", sorted(ALERTS))
def test_a_repeat_rederives_the_same_alert_ids(event_name: str) -> None:
    state, alerts = fold_kuenta(None, kuenta_fact(event_name, "agg-1", 5))
    same, repeated = fold_kuenta(state, kuenta_fact(event_name, "agg-1", 5))
    assert same is state
    assert len(alerts) == 1 and [a.id for a in repeated] == [a.id for a in alerts]


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        ("credit.disbursed", "credit.application.approved"),
        ("credit.application.approved", "credit.application.created"),
        ("payment.completed", "payment.created"),
        ("payment.completed", "payment.failed"),
        ("document.signed", "document.created"),
        ("validation.completed", "validation.started"),
    ],
)
def test_a_late_older_event_is_kept_but_never_moves_the_state_back(newer: str, older: str) -> None:
    state, _ = fold_all([kuenta_fact(newer, "agg-1", 20)])
    late, _ = fold_kuenta(state, kuenta_fact(older, "agg-1", 10))
    assert late.status == DOC_STATUS[newer]
    assert late.updatedAt == state.updatedAt
    assert [e.eventName for e in late.history] == [older, newer]


def test_a_failed_payment_goes_on_when_a_later_completion_comes() -> None:
    failed, alerts = fold_all(facts_of([("payment.created", 0), ("payment.failed", 10)]))
    assert failed.status == "failed" and [a.type for a in alerts] == ["kuenta_payment_failed"]
    completed, _ = fold_kuenta(failed, kuenta_fact("payment.completed", "agg-1", 20))
    assert completed.status == "completed"


def test_a_completed_payment_may_still_be_refunded() -> None:
    completed, _ = fold_all(facts_of([("payment.created", 0), ("payment.completed", 10)]))
    refunded, alerts = fold_kuenta(completed, kuenta_fact("payment.refunded", "agg-1", 20))
    assert refunded.status == "refunded"
    assert [a.type for a in alerts] == ["kuenta_payment_refunded"]


def test_a_later_failure_of_a_completed_payment_shows_failed_since_only_refunded_is_final() -> None:
    state, _ = fold_all(facts_of([("payment.completed", 10), ("payment.failed", 20)]))
    assert state.status == "failed"


@pytest.mark.parametrize(
    ("final_event", "stray"),
    [
        ("credit.application.rejected", "credit.application.approved"),
        ("credit.application.rejected", "credit.disbursed"),
        ("credit.completed", "credit.disbursed"),
        ("payment.refunded", "payment.completed"),
        ("payment.refunded", "payment.failed"),
        ("document.signed", "document.created"),
        ("document.expired", "document.created"),
        ("validation.completed", "validation.started"),
        ("validation.failed", "validation.started"),
    ],
)
def test_a_final_state_is_not_reopened_by_a_stray_later_event(final_event: str, stray: str) -> None:
    for order in ([(final_event, 5), (stray, 6)], [(stray, 6), (final_event, 5)]):
        state, _ = fold_all(facts_of(order))
        assert state.status == DOC_STATUS[final_event]
        assert len(state.history) == 2


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("credit.application.created", "credit.application.approved"),
        ("credit.application.approved", "credit.disbursed"),
        ("credit.disbursed", "credit.completed"),
        ("payment.created", "payment.failed"),
        ("payment.completed", "payment.refunded"),
        ("document.created", "document.signed"),
        ("validation.started", "validation.failed"),
    ],
)
def test_equal_timestamps_resolve_towards_the_further_status(lower: str, higher: str) -> None:
    first, second = kuenta_fact(lower, "agg-1", 1), kuenta_fact(higher, "agg-1", 1)
    a, _ = fold_all([first, second])
    b, _ = fold_all([second, first])
    assert a == b
    assert a.status == DOC_STATUS[higher]


@pytest.mark.parametrize(("event_name", "alert_type"), sorted(ALERTS.items()))
def test_alerts_name_the_thing_the_family_and_the_amount(event_name: str, alert_type: str) -> None:
    fact = kuenta_fact(event_name, "agg-9", 5, amount="1500.50", creditId="cr-7", reason="insufficient funds")
    _, (alert,) = fold_kuenta(None, fact)
    assert (alert.type, alert.source, alert.aggregateId, alert.eventId) == (alert_type, "kuenta", "agg-9", fact.eventId)
    assert alert.occurredAt == fact.occurredAt
    assert alert.details == {
        "family": event_name.split(".")[0], "eventName": event_name, "id": "agg-9",
        "creditId": "cr-7", "amount": Decimal("1500.50"),
    }


def test_an_alert_without_an_amount_has_no_amount_member() -> None:
    _, (alert,) = fold_kuenta(None, kuenta_fact("document.expired", "doc-1", 5))
    assert alert.details == {"family": "document", "eventName": "document.expired", "id": "doc-1"}


@pytest.mark.parametrize("event_name", sorted(set(DOC_STATUS) - set(ALERTS)))
def test_other_events_raise_no_alert(event_name: str) -> None:
    _, alerts = fold_kuenta(None, kuenta_fact(event_name, "agg-1", 5, amount=3))
    assert alerts == ()


def test_two_failures_of_one_payment_are_two_alerts() -> None:
    _, alerts = fold_all(facts_of([("payment.failed", 10), ("payment.failed", 20)]))
    assert len({a.id for a in alerts}) == 2


def test_a_late_failure_still_alerts_without_moving_a_refunded_payment() -> None:
    refunded, _ = fold_all(facts_of([("payment.refunded", 30)]))
    state, alerts = fold_kuenta(refunded, kuenta_fact("payment.failed", "agg-1", 10))
    assert state.status == "refunded"
    assert [a.type for a in alerts] == ["kuenta_payment_failed"]


def test_the_amount_is_the_latest_known_by_event_time_whatever_the_arrival() -> None:
    facts = [
        kuenta_fact("payment.created", "p-1", 0, amount=100),
        kuenta_fact("payment.failed", "p-1", 10, amount="90.5"),
        kuenta_fact("payment.completed", "p-1", 20, amount=120),
        kuenta_fact("payment.refunded", "p-1", 30),
    ]
    for permutation in itertools.permutations(facts):
        state, _ = fold_all(permutation)
        assert state.amount == Decimal("120")


def test_a_late_older_amount_does_not_overwrite_a_newer_one() -> None:
    state, _ = fold_all([kuenta_fact("credit.application.approved", "c-1", 10, amount=5000000)])
    late, _ = fold_kuenta(state, kuenta_fact("credit.application.created", "c-1", 0, amount=4000000))
    assert late.amount == Decimal("5000000")
    newer, _ = fold_kuenta(late, kuenta_fact("credit.disbursed", "c-1", 20, amount="4999999.99"))
    assert newer.amount == Decimal("4999999.99")


def test_no_amount_is_known_until_an_event_carries_one() -> None:
    state, _ = fold_all(facts_of([("document.created", 0), ("document.signed", 10)]))
    assert state.amount is None


def test_a_state_that_went_through_json_folds_on_exactly_like_the_live_one() -> None:
    head = [kuenta_fact("payment.created", "p-1", 0, amount=100), kuenta_fact("payment.completed", "p-1", 20, amount=120)]
    live, _ = fold_all(head)
    restored = KuentaState.model_validate_json(live.model_dump_json())
    assert restored == live
    late = kuenta_fact("payment.failed", "p-1", 10, amount=90)
    assert fold_kuenta(restored, late) == fold_kuenta(live, late)
    assert fold_kuenta(restored, late)[0].amount == Decimal("120")


def test_a_fact_of_another_family_is_a_programming_error() -> None:
    credit, _ = fold_kuenta(None, kuenta_fact("credit.completed", "x-1", 0))
    with pytest.raises(TypeError, match="payment"):
        fold_kuenta(credit, kuenta_fact("payment.created", "x-1", 1))


def test_a_fact_of_another_aggregate_is_a_programming_error() -> None:
    state, _ = fold_kuenta(None, kuenta_fact("payment.created", "p-1", 0))
    with pytest.raises(TypeError):
        fold_kuenta(state, kuenta_fact("payment.completed", "p-2", 1))


def test_a_koywe_fact_is_refused(koywe_fact: Callable[..., Fact]) -> None:
    with pytest.raises(TypeError):
        fold_kuenta(None, koywe_fact("payment_created"))


def test_every_kuenta_event_class_is_one_family() -> None:
    """The fold takes the family from the event's class; each class's names are that family's."""
    from typing import get_args

    from projections.kuenta import FAMILIES
    from schemas.kuenta import KUENTA_EVENTS, AnyKuentaEvent

    union, _discriminator = get_args(AnyKuentaEvent)
    assert set(FAMILIES) == set(get_args(union))
    for cls, family in FAMILIES.items():
        assert frozenset(get_args(cls.model_fields["event"].annotation)) == KUENTA_EVENTS[family.name]
