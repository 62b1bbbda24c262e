"""The shared history steps equal their plain definitions: `insert` (bisection) places an entry
where a stable sort of the whole history would, `effective`/`seen` answer as the list versions,
and `entry_for`'s unvalidated entry equals the validated one, field for field and byte for byte."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from projections.history import effective, entry_for, insert, seen
from projections.orders import RANK
from schemas.history import Fact, HistoryEntry
from schemas.orders import OrderStatus
from tests.conftest import T0

pytestmark = pytest.mark.unit

STATUSES = [status.value for status in OrderStatus]

entries = st.builds(
    lambda ident, second, status, final: HistoryEntry(
        eventId=f"e{ident:03d}", eventName="payment_created", occurredAt=T0 + timedelta(seconds=second),
        receivedAt=T0, deliveryId="d", status=status, final=final,
    ),
    st.integers(0, 999), st.integers(0, 3), st.sampled_from(STATUSES), st.booleans(),
)


def sort_key(entry: HistoryEntry) -> tuple[datetime, int, str]:
    return entry.occurredAt, RANK[entry.status], entry.eventId


def reference_insert(history: Sequence[HistoryEntry], entry: HistoryEntry) -> tuple[HistoryEntry, ...]:
    return tuple(sorted((*history, entry), key=sort_key))


@settings(max_examples=300, deadline=None)
@given(st.lists(entries, max_size=12, unique_by=lambda e: e.eventId), entries)
def test_insert_places_an_entry_where_sorting_everything_would(pool: list[HistoryEntry], new: HistoryEntry) -> None:
    history: tuple[HistoryEntry, ...] = ()
    for entry in pool:  # histories are only ever grown by insert
        history = insert(history, entry, RANK.__getitem__)
        assert history == tuple(sorted(history, key=sort_key))
    if seen(history, new.eventId):
        return
    grown = insert(history, new, RANK.__getitem__)
    assert [e.eventId for e in grown] == [e.eventId for e in reference_insert(history, new)]


@settings(max_examples=200, deadline=None)
@given(st.lists(entries, min_size=1, max_size=12))
def test_effective_and_seen_answer_as_their_list_versions(history: list[HistoryEntry]) -> None:
    finals = [entry for entry in history if entry.final]
    assert effective(history) is (finals or history)[-1]
    for ident in {entry.eventId for entry in history} | {"absent"}:
        assert seen(history, ident) == any(entry.eventId == ident for entry in history)


def test_an_entry_built_without_validation_equals_the_validated_one(koywe_fact: Callable[..., Fact]) -> None:
    fact = koywe_fact("payment_created", "ord-1", 0)
    fast = entry_for(fact, OrderStatus.WAITING, final=True)
    slow = HistoryEntry(eventId=fact.eventId, eventName=fact.eventName, occurredAt=fact.occurredAt,
                        receivedAt=fact.receivedAt, deliveryId=fact.deliveryId, status=OrderStatus.WAITING, final=True)
    assert fast == slow and hash(fast) == hash(slow)
    assert type(fast.status) is str and type(slow.status) is str
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    assert HistoryEntry.model_validate_json(fast.model_dump_json()) == fast
    with pytest.raises(ValidationError):
        fast.status = "PENDING"  # type: ignore[misc]  # still frozen
