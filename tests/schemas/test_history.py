"""Event ids are the same hash they always were (they name stored events and alerts), and the
Fact `make_fact` builds without validation is the Fact validation builds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decoding import decode_fact
from schemas.envelope import Envelope
from schemas.history import Fact, event_id, iso_utc
from schemas.times import as_utc

pytestmark = pytest.mark.unit


def reference_event_id(source: str, name: str, aggregate: str, occurred_at: str | None, body: bytes) -> str:
    basis = occurred_at.encode() if occurred_at else hashlib.sha256(body).digest()
    return hashlib.sha256(b"\x00".join([source.encode(), name.encode(), aggregate.encode(), basis])).hexdigest()[:32]


@settings(max_examples=400, deadline=None)
@given(st.text(), st.text(), st.text(), st.none() | st.text(), st.binary())
def test_event_id_is_unchanged(source: str, name: str, aggregate: str, occurred_at: str | None, body: bytes) -> None:
    assert event_id(source, name, aggregate, occurred_at, body) == reference_event_id(
        source, name, aggregate, occurred_at, body)


@settings(max_examples=2000, deadline=None)
@given(st.datetimes(timezones=st.none() | st.just(UTC) | st.builds(timezone, st.integers(-1439, 1439).map(
    lambda minutes: timedelta(minutes=minutes)))))
def test_iso_utc_is_isoformat_of_the_utc_time(moment: datetime) -> None:
    """Event ids hash this text: it must stay `isoformat()`'s, for every year and fraction."""
    try:
        stamp = as_utc(moment)
    except OverflowError:  # a local time near year 1 or 9999 whose UTC time is out of range
        return
    assert iso_utc(stamp) == stamp.isoformat()


@pytest.mark.parametrize("moment", [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                                    datetime(2026, 3, 20, 10, 0, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)])
def test_iso_utc_at_the_edges(moment: datetime) -> None:
    assert iso_utc(moment) == moment.isoformat()


def test_a_facts_event_id_hashes_the_isoformat_of_its_time(koywe_envelope: Callable[..., Envelope]) -> None:
    fact = decode_fact(koywe_envelope("payment_created", "ord-1", 1.5))
    assert fact.eventId == reference_event_id("koywe", "payment_created", "ord-1", fact.occurredAt.isoformat(), b"")


@pytest.mark.parametrize("seconds", [0, None])
def test_a_fact_built_without_validation_equals_the_validated_one(
    koywe_envelope: Callable[..., Envelope], seconds: float | None
) -> None:
    fast = decode_fact(koywe_envelope("payment_created", "ord-1", seconds))
    slow = Fact.model_validate(dict(fast))
    assert fast == slow and hash(fast) == hash(slow)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()
    assert [type(value) for value in dict(fast).values()] == [type(value) for value in dict(slow).values()]


def test_every_projection_state_has_the_shared_layout() -> None:
    """ProjectionState's docstring: what names the aggregate and its status, then `updatedAt` and
    `history`, then the state's own members."""
    from datetime import datetime

    from schemas.generic import GenericState
    from schemas.history import HistoryEntry, ProjectionState
    from schemas.koywe_payments_states import PaymentsOrderState, PaymentsResourceState
    from schemas.kuenta import KuentaState
    from schemas.orders import OrderState
    from schemas.users import UserState

    assert set(ProjectionState.__subclasses__()) == {OrderState, UserState, KuentaState, GenericState,
                                                     PaymentsOrderState, PaymentsResourceState}
    for state in ProjectionState.__subclasses__():
        fields = [(name, field.annotation) for name, field in state.model_fields.items()]
        at = fields.index(("updatedAt", datetime))
        assert at >= 2 and fields[at + 1] == ("history", tuple[HistoryEntry, ...]), state
        assert state.model_config.get("frozen") is True


def test_a_history_entry_keeps_the_facts_event_ref(koywe_envelope: Callable[..., Envelope]) -> None:
    from projections.history import entry_for
    from schemas.history import EventRef

    fact = decode_fact(koywe_envelope("payment_created", "ord-1", 0))
    entry = entry_for(fact, "WAITING", final=False)
    assert {name: getattr(entry, name) for name in EventRef.model_fields} == {
        name: getattr(fact, name) for name in EventRef.model_fields}
