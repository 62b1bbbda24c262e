"""Event ids are the same hash they always were (they name stored events and alerts), and the
Fact `make_fact` builds without validation is the Fact validation builds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decoding import decode_fact
from schemas.envelope import Envelope
from schemas.history import Fact, event_id

pytestmark = pytest.mark.unit


def reference_event_id(source: str, name: str, aggregate: str, occurred_at: str | None, body: bytes) -> str:
    basis = occurred_at.encode() if occurred_at else hashlib.sha256(body).digest()
    return hashlib.sha256(b"\x00".join([source.encode(), name.encode(), aggregate.encode(), basis])).hexdigest()[:32]


@settings(max_examples=400, deadline=None)
@given(st.text(), st.text(), st.text(), st.none() | st.text(), st.binary())
def test_event_id_is_unchanged(source: str, name: str, aggregate: str, occurred_at: str | None, body: bytes) -> None:
    assert event_id(source, name, aggregate, occurred_at, body) == reference_event_id(
        source, name, aggregate, occurred_at, body)


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
