"""A state's history past HOOKLOG_HISTORY_LIMIT (projections/history.py `bound_history`, applied by
`projections.driver.fold_record`): at most `limit` entries, the status exactly the unbounded
fold's whatever the arrival order, and what a value rests on kept."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from projections.driver import Dead, fold_record
from projections.history import bound_history
from projections.orders import fold_order
from projections.registry import ORDERS, Projection
from schemas.envelope import Envelope, encode_envelope
from schemas.orders import OrderState
from tests.conftest import fold_facts

pytestmark = pytest.mark.unit

#: a non-final event Koywe may send many times (each retry a new event: a new timestamp)
RETRIED = "crypto_tx_failed"


def fold_all(records: list[bytes], limit: int) -> OrderState:
    """The worker's fold step over `records` in order, from no state, histories bounded to `limit`."""
    tables: dict[str, Any] = {}

    def load(projection: Projection, key: str) -> Any:
        return tables.get(key)

    for raw in records:
        result = fold_record(raw, load, limit)
        assert not isinstance(result, Dead), result
        fact, _, state, _, _ = result
        tables[fact.aggregateId] = state
    (state,) = tables.values()
    return state


def order_events(koywe_envelope: Callable[..., Envelope], count: int, final_at: int | None = None,
                 modified_at: int | None = None) -> list[bytes]:
    """`count` distinct events of one order a second apart: created, then retries, one final
    event (delivered) and one re-quote where asked."""
    names = ["payment_created"] + [RETRIED] * (count - 1)
    if final_at is not None:
        names[final_at] = "crypto_delivered"
    extra: dict[int, dict[str, Any]] = {}
    if modified_at is not None:
        names[modified_at] = "payment_received_modified_order_amount"
        extra[modified_at] = {
            "originalOrder": {"orderId": "ord-1", "amountIn": 401.25, "amountOut": 100, "symbolIn": "PEN"},
            "orderAdjustedByBankIncome": {"orderId": "ord-1", "amountIn": 1500, "amountOut": 373.83, "symbolIn": "PEN"}}
    return [encode_envelope(koywe_envelope(name, "ord-1", i, **extra.get(i, {}))) for i, name in enumerate(names)]


def test_a_history_within_the_limit_is_kept_whole(koywe_envelope: Callable[..., Envelope]) -> None:
    state = fold_all(order_events(koywe_envelope, 20), limit=20)
    assert len(state.history) == 20 and state.historyOmitted == 0


def test_past_the_limit_the_first_tenth_and_the_latest_entries_stay_and_the_rest_is_counted(
        koywe_envelope: Callable[..., Envelope]) -> None:
    records = order_events(koywe_envelope, 250)
    state = fold_all(records, limit=100)
    assert len(state.history) == 100 and state.historyOmitted == 150
    seconds = [e.occurredAt.timestamp() for e in state.history]
    start = seconds[0]
    assert [s - start for s in seconds[:10]] == list(range(10))  # how the order began
    assert [s - start for s in seconds[10:]] == list(range(160, 250))  # the latest 90
    # one record of it stays small whatever the history: ~limit entries, not 250
    assert len(orjson.dumps(state.model_dump(mode="json"))) < 100 * 300


def test_the_final_event_and_the_re_quote_a_value_rests_on_are_kept_however_old(
        koywe_envelope: Callable[..., Envelope]) -> None:
    # delivered early, then many stray (late-timestamped) retries: it stays DELIVERED
    records = order_events(koywe_envelope, 300, final_at=20, modified_at=30)
    state = fold_all(records, limit=50)
    names = [e.eventName for e in state.history]
    assert state.state == "DELIVERED" and "crypto_delivered" in names
    assert state.adjustment is not None and state.adjustment.eventId in {e.eventId for e in state.history}
    assert len(state.history) <= 50 and state.historyOmitted == 300 - len(state.history)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # a pure factory
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(30, 120), final=st.booleans())
def test_the_status_past_the_limit_is_the_unbounded_folds_in_any_arrival_order(
        koywe_envelope: Callable[..., Envelope], seed: int, count: int, final: bool) -> None:
    records = order_events(koywe_envelope, count, final_at=count // 3 if final else None, modified_at=count // 2)
    random.Random(seed).shuffle(records)
    bounded, whole = fold_all(records, limit=20), fold_all(records, limit=10_000)
    assert len(whole.history) == count and whole.historyOmitted == 0
    assert (bounded.state, bounded.updatedAt, bounded.adjustment) == (whole.state, whole.updatedAt, whole.adjustment)
    assert len(bounded.history) <= 20 and bounded.historyOmitted >= count - 20


def test_bound_history_leaves_a_short_state_as_it_is(koywe_fact: Callable[..., Any]) -> None:
    state, _ = fold_facts(fold_order, [koywe_fact("payment_created", seconds=0)])
    assert bound_history(state, 10, ORDERS.pinned(state)) is state


def test_a_koywe_payments_orders_digests_are_bounded_with_its_history() -> None:
    from tests.koywe_payments_factories import payments_envelope

    records = [encode_envelope(payments_envelope("order.created", "ord_big", event_id="evt_0"))]
    records += [encode_envelope(payments_envelope("order.pending", "ord_big", event_id=f"evt_{i}", seconds=i))
                for i in range(1, 30)]
    state = fold_all(records, 10)
    assert len(state.history) == 10 and state.historyOmitted == 20
    assert set(state.digests) == {entry.eventId for entry in state.history}  # not one per event ever seen
