"""plain_json writes exactly what pydantic writes, and leaves to pydantic what it cannot match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from projections.replay import Raw, fold_into, Rebuilt
from schemas.base import Frozen
from schemas.history import HistoryEntry
from schemas.jsondump import is_simple, plain_json
from schemas.orders import AmountAdjustment, OrderState, OrderStatus
from tests.conftest import raw_log

pytestmark = pytest.mark.unit

T = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


def pydantic_json(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


@pytest.mark.parametrize("seed", range(5))
def test_every_folded_state_is_written_as_pydantic_writes_it(seed: int) -> None:
    rebuilt = Rebuilt()
    fold_into(rebuilt, [Raw(offset, value) for offset, (_, value) in enumerate(raw_log(seed, orders=12))])
    states = [state for table in rebuilt.states.values() for state in table.values()]
    assert {type(s).__name__ for s in states} >= {"OrderState", "UserState", "KuentaState", "GenericState"}
    assert any(is_simple(type(s)) for s in states) and not all(is_simple(type(s)) for s in states)
    assert any(s.adjustment for s in states if isinstance(s, OrderState))  # a Decimal on the fast path
    for state in states:
        assert plain_json(state) == pydantic_json(state), type(state).__name__


def _entry(at: datetime, event_id: str = "e1") -> HistoryEntry:
    return HistoryEntry(eventId=event_id, eventName="payment_created", occurredAt=at, receivedAt=at,
                        deliveryId="d", status="WAITING")


@pytest.mark.parametrize("at", [
    T, T.replace(microsecond=1000), T.replace(microsecond=123456), datetime(2026, 3, 20, 10, 0),
    T.astimezone(timezone(timedelta(hours=2))), T.astimezone(timezone(timedelta(hours=-3, minutes=-30))),
])
@pytest.mark.parametrize("amount", [None, Decimal("1E+2"), Decimal("0.000001"), Decimal("-0"), Decimal("1.50"),
                                    Decimal("123456789012345678901234567890.5")])
def test_times_and_decimals_match(at: datetime, amount: Decimal | None) -> None:
    state = OrderState(orderId="o\u00e9\"\n", state=OrderStatus.PENDING, updatedAt=at, history=(_entry(at), _entry(at, "e2")),
                       adjustment=AmountAdjustment(eventId="e2", originalAmountIn=amount, adjustedAmountIn=Decimal(7),
                                                   originalAmountOut=None, adjustedAmountOut=amount))
    assert is_simple(OrderState)
    assert plain_json(state) == pydantic_json(state)


class WithExtras(Frozen):
    model_config = ConfigDict(extra="allow")
    a: str


class WithExcluded(Frozen):
    a: str
    secret: str = Field(default="s", exclude=True)


class WithFloat(Frozen):
    x: float


class WithDict(Frozen):
    d: dict[str, object]


class Big(Frozen):
    n: int


class Outer(Frozen):
    inner: WithExcluded


@pytest.mark.parametrize("model", [
    WithExtras(a="1", b=2), WithExcluded(a="1"), WithFloat(x=1e-7), WithDict(d={"f": 0.1}), Outer(inner=WithExcluded(a="1")),
])
def test_shapes_orjson_would_write_differently_go_to_pydantic(model: BaseModel) -> None:
    assert not is_simple(type(model))
    assert plain_json(model) == pydantic_json(model)


def test_a_value_orjson_refuses_falls_back_to_pydantic() -> None:
    model = Big(n=2**70)
    assert is_simple(Big)
    assert plain_json(model) == pydantic_json(model) == b'{"n":1180591620717411303424}'


class Sub(HistoryEntry):
    note: str = "more"


def test_a_subclass_instance_in_a_field_is_written_as_declared() -> None:
    """pydantic writes a field by its declared type; the fast path must not add the subclass's members."""
    state = OrderState(orderId="o", state=OrderStatus.WAITING, updatedAt=T, history=(_entry(T),))
    sneaky = state.model_copy(update={"history": (Sub(**_entry(T).model_dump()),)})
    assert plain_json(sneaky) == pydantic_json(sneaky)
    assert b"more" not in plain_json(sneaky)
