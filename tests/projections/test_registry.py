"""`projection_for` (a dict lookup) picks what asking each projection in turn picks, and every
fold's state, built without re-validation, is the state validation would build."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from projections.registry import PROJECTIONS, projection_for
from schemas.decoding import decode_fact
from schemas.envelope import Envelope, new_envelope
from schemas.errors import UnknownEventError
from schemas.generic import GenericEvent
from schemas.history import Fact
from schemas.koywe import ORDER_EVENT_NAMES
from schemas.koywe_users import USER_EVENTS
from schemas.kuenta import KUENTA_EVENT_NAMES
from tests.conftest import T0, koywe_user_envelope
from tests.kuenta_factories import kuenta_fact

pytestmark = pytest.mark.unit

SOURCES = ["koywe", "kuenta", "acme", ""]
NAMES = sorted(ORDER_EVENT_NAMES | USER_EVENTS | KUENTA_EVENT_NAMES) + ["", "payment_teleported", "credit.lost"]


def bare_fact(source: str, name: str) -> Fact:
    return Fact(source=source, aggregateId="a", eventId="e", eventName=name, occurredAt=T0, receivedAt=T0,
                deliveryId="d", event=GenericEvent())


@pytest.mark.parametrize("source", SOURCES)
def test_lookup_picks_the_first_projection_that_accepts(source: str) -> None:
    for name in NAMES:
        fact = bare_fact(source, name)
        takers = [projection for projection in PROJECTIONS if projection.accepts(fact)]
        if takers:
            assert projection_for(fact) is takers[0]
        else:
            with pytest.raises(UnknownEventError, match=f"no projection takes {source} event {name!r}"):
                projection_for(fact)


def assert_as_validated(state: BaseModel) -> None:
    validated = type(state).model_validate(dict(state))
    assert state == validated
    assert state.model_dump_json() == validated.model_dump_json()
    assert state.model_fields_set == validated.model_fields_set
    assert type(state).model_validate_json(state.model_dump_json()) == state


def fold_every(facts: list[Fact]) -> None:
    """Fold each permutation; every intermediate state must equal its validated twin."""
    for order in itertools.permutations(facts):
        state: Any = None
        for fact in order:
            state, _ = projection_for(fact).fold(state, fact)
            assert_as_validated(state)


def test_order_states(koywe_fact: Callable[..., Fact]) -> None:
    fold_every([koywe_fact("payment_created", "ord-1", 0), koywe_fact("crypto_tx_failed", "ord-1", 1),
                koywe_fact("payment_received_modified_order_amount", "ord-1", 1,
                           originalOrder={"amountIn": "401.25"}, orderAdjustedByBankIncome={"amountIn": 1500}),
                koywe_fact("crypto_delivered", "ord-1", 2)])


def test_user_states() -> None:
    def user(name: str, seconds: float, **extra: object) -> Fact:
        return decode_fact(koywe_user_envelope(name, seconds, "Ana@Example.com", **extra))

    fold_every([user("verification_started", 0), user("verification_completed", 1, status="reviewNeeded"),
                user("document_number_sucessfully_updated", 2), user("NEW_DEPOSIT_REGISTERED", 3, amount=5)])


def test_kuenta_states() -> None:
    fold_every([kuenta_fact("payment.created", "pay_1", 0, amount=10), kuenta_fact("payment.failed", "pay_1", 1),
                kuenta_fact("payment.completed", "pay_1", 2, amount="10.5"), kuenta_fact("payment.refunded", "pay_1", 3)])


def test_configured_source_states() -> None:
    def event(name: str, seconds: int) -> Fact:
        envelope: Envelope = new_envelope(source="acme", key="acme:7", event_name=name, body=b'{"data":{"id":7}}',
                                          received_at=T0, occurred_at=T0.replace(second=seconds))
        return decode_fact(envelope)

    fold_every([event("a.created", 0), event("a.updated", 1), event("a.done", 1)])
