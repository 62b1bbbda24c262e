"""The Koywe Payments API folds: every order status rule under every arrival order (property
tests), duplicates by the event's own id, the alerts, contacts / merchants / invitations."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from projections.driver import fold_record
from projections.koywe_payments import FAILURES, PAID_PATH, STEP_RANK, fold_payments_order, fold_payments_resource
from projections.registry import projection_for
from schemas.envelope import encode_envelope
from schemas.history import Fact
from tests.conftest import fold_facts
from tests.koywe_payments_factories import payments_envelope, payments_fact

pytestmark = pytest.mark.unit

ORDER_TYPES = ("created", "approved", "pending", "processing", "paid", "completed", "failed", "expired", "canceled",
               "refunded")


def reference_status(statuses: set[str]) -> str:
    """The issue's rule, written out apart from the fold: furthest step on the paid path; else a
    failure; else the furthest step (approved and pending share a rank: the later one)."""
    if statuses & PAID_PATH:
        return max(statuses & PAID_PATH, key=STEP_RANK.__getitem__)
    if statuses & FAILURES:
        return "failure"
    return max(statuses, key=STEP_RANK.__getitem__)


def order_facts(statuses: list[str]) -> list[Fact]:
    """One event per status, a second apart in the listed order (their event time)."""
    return [payments_fact(f"order.{s}", seconds=i, amount="10") for i, s in enumerate(statuses)]


events = st.lists(st.sampled_from(ORDER_TYPES), min_size=1, max_size=7, unique=True)


@settings(max_examples=300, deadline=None)
@given(statuses=events, data=st.data())
def test_the_status_is_a_function_of_the_set_whatever_the_arrival_order(statuses: list[str], data: st.DataObject) -> None:
    facts = order_facts(statuses)
    arrival = data.draw(st.permutations(facts))
    repeats = data.draw(st.lists(st.sampled_from(facts), max_size=4))
    reference, _ = fold_facts(fold_payments_order, facts)
    state, _ = fold_facts(fold_payments_order, [*arrival, *repeats])
    assert state == reference  # the whole state, not only the status
    expected = reference_status(set(statuses))
    failures = [s for s in statuses if s in FAILURES]
    if expected == "failure":
        assert state.status.value == failures[0]  # the first failure by event time
    elif expected in ("approved", "pending") and {"approved", "pending"} <= set(statuses) and not (
            set(statuses) & {"processing"} or set(statuses) & PAID_PATH):
        assert state.status.value == max(("approved", "pending"), key=statuses.index)
    else:
        assert state.status.value == expected
    assert state.conflict == bool(set(statuses) & PAID_PATH and failures)
    assert [e.eventName for e in state.history] == [f"order.{s}" for s in statuses]  # each once, in time order


@settings(max_examples=200, deadline=None)
@given(statuses=events, data=st.data())
def test_the_alerts_raised_do_not_depend_on_the_arrival_order(statuses: list[str], data: st.DataObject) -> None:
    """Conflict and amount alerts: the same ids whatever the order (not-created is by then)."""
    facts = [payments_fact(f"order.{s}", seconds=i, amount="12" if s == "paid" else "10") for i, s in enumerate(statuses)]
    wanted = {"koywe_payments_order_conflict", "koywe_payments_amount_mismatch"}
    _, first = fold_facts(fold_payments_order, facts)
    _, other = fold_facts(fold_payments_order, data.draw(st.permutations(facts)))
    assert {a.id for a in first if a.type in wanted} == {a.id for a in other if a.type in wanted}
    kinds = {a.type for a in first}
    assert ("koywe_payments_order_conflict" in kinds) == bool(set(statuses) & PAID_PATH and set(statuses) & FAILURES)
    assert ("koywe_payments_amount_mismatch" in kinds) == ({"paid", "created"} <= set(statuses))


def test_cancelled_and_canceled_are_one_event() -> None:
    spelled = [payments_fact("order.created"), payments_fact("order.cancelled", event_id="evt_x", seconds=1)]
    state, _ = fold_facts(fold_payments_order, spelled)
    assert state.status == "canceled" and state.history[-1].eventName == "order.canceled"
    assert projection_for(spelled[1]).name == "koywe-payments.orders"


def test_a_redelivered_id_is_folded_once_and_another_body_under_it_keeps_the_first() -> None:
    first = payments_fact("order.created", event_id="evt_1", amount="10")
    state, _ = fold_payments_order(None, first)
    again, alerts = fold_payments_order(state, payments_fact("order.created", event_id="evt_1", amount="10"))
    assert again is state and alerts == ()
    changed = payments_fact("order.paid", event_id="evt_1", seconds=5, amount="99")  # same id, other body
    kept, alerts = fold_payments_order(state, changed)
    assert kept is state and kept.status == "created" and kept.amount == Decimal("10")
    assert [a.type for a in alerts] == ["koywe_payments_event_changed"]
    assert alerts[0].details["providerEventId"] == "evt_1"


def test_the_same_content_respaced_is_not_a_changed_body() -> None:
    body = b'{"id":"evt_7","type":"order.created","data":{"id":"ord_1","amount":"10"}}'
    respaced = b'{ "data": {"amount": "10", "id": "ord_1"},\n "type": "order.created", "id": "evt_7" }'
    state, _ = fold_payments_order(None, _fact(body))
    same, alerts = fold_payments_order(state, _fact(respaced))
    assert same is state and alerts == ()


def _fact(body: bytes) -> Fact:
    from schemas.decoding import decode_fact

    return decode_fact(payments_envelope("order.created", body=body))


def test_amounts_and_the_merchants_external_id_are_kept() -> None:
    state, alerts = fold_facts(fold_payments_order, [
        payments_fact("order.paid", seconds=2, amount="15000.25", currency="CLP"),
        payments_fact("order.created", amount="15000.50", currency="CLP", externalId="cart-77"),
    ])
    assert (state.amount, state.paidAmount, state.currency, state.externalId) == (
        Decimal("15000.50"), Decimal("15000.25"), "CLP", "cart-77")
    mismatch = [a for a in alerts if a.type == "koywe_payments_amount_mismatch"]
    assert len(mismatch) == 1 and mismatch[0].details["difference"] == Decimal("-0.25")
    assert [a.type for a in alerts].count("koywe_payments_order_not_created") == 1  # the paid, before created came
    assert state.created


def test_events_of_an_order_never_created_raise_an_alert() -> None:
    state, alerts = fold_facts(fold_payments_order, [payments_fact("order.paid"), payments_fact("order.completed", seconds=1)])
    assert not state.created and state.status == "completed"
    assert [a.type for a in alerts] == ["koywe_payments_order_not_created"] * 2


@pytest.mark.parametrize("order", list(itertools.permutations(["created", "updated", "deleted", "updated2"])))
def test_a_contact_is_deleted_for_good_and_keeps_the_latest_data(order: tuple[str, ...]) -> None:
    made = {
        "created": payments_fact("contact.created", "ct_1", "e1", 0, name="Ana"),
        "updated": payments_fact("contact.updated", "ct_1", "e2", 1, name="Ana Núñez"),
        "updated2": payments_fact("contact.updated", "ct_1", "e4", 3, name="Ana Núñez Díaz"),
        "deleted": payments_fact("contact.deleted", "ct_1", "e3", 2),
    }
    state, _ = fold_facts(fold_payments_resource, [made[name] for name in order])
    assert state.status == "deleted" and state.family == "contact"
    assert state.data["name"] == "Ana Núñez Díaz"  # the latest event's data, by event time
    assert [e.eventId for e in state.history] == [made[n].eventId for n in ("created", "updated", "deleted", "updated2")]


def test_merchants_and_invitations_are_states_of_their_own() -> None:
    merchant = payments_fact("merchant.updated", "m_1", seconds=1, name="Tienda")
    invitation = payments_fact("invitation.accepted", "m_1", seconds=1)
    assert projection_for(merchant).name == "koywe-payments.merchants"
    assert projection_for(invitation).name == "koywe-payments.invitations"
    state, _ = fold_payments_resource(None, merchant)
    assert (state.status, state.family, state.data["name"]) == ("updated", "merchant", "Tienda")


def test_a_ping_is_recorded_and_folds_into_no_resource() -> None:
    from hooklog.dev.simulate_payments import payments_body
    from tests.conftest import T0

    ping = payments_envelope("ping", body=b'{"id":"evt_ping_1","type":"ping"}')
    assert ping.key == "koywe-payments:evt_ping_1"
    result = fold_record(encode_envelope(ping), lambda projection, key: None)
    _, projection, state, _, alerts = result  # type: ignore[misc]
    assert projection.name == "events" and state.status == "ping" and alerts == ()
    assert payments_body("ping", "x", T0)  # the simulator can make one too


def test_an_unknown_type_is_dead_lettered_with_its_reason() -> None:
    unknown = payments_envelope("order.teleported", body=b'{"id":"e","type":"order.teleported","data":{"id":"o"}}')
    dead = fold_record(encode_envelope(unknown), lambda projection, key: None)
    assert "unknown Koywe Payments event 'order.teleported'" in dead.reason  # type: ignore[union-attr]
