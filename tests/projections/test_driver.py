"""`fold_record`, the one fold step of the worker and replay, and replay's `fold_into`, over plain
lists and dicts (no broker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from projections.driver import Dead, fold_record
from projections.registry import ORDERS, Projection
from projections.replay import Raw, Rebuilt, fold_into, rebuild
from schemas.envelope import Envelope, encode_envelope
from schemas.orders import OrderState
from tests.conftest import raw_log

pytestmark = pytest.mark.unit


def dict_load(tables: dict[str, dict[str, Any]], asked: list[tuple[str, str]]) -> Callable[[Projection, str], Any]:
    def load(projection: Projection, key: str) -> Any:
        asked.append((projection.name, key))
        return tables.get(projection.name, {}).get(key)

    return load


def test_a_record_folds_into_the_state_load_gives(koywe_envelope: Callable[..., Envelope]) -> None:
    asked: list[tuple[str, str]] = []
    created = fold_record(encode_envelope(koywe_envelope("payment_created", "o-1")), dict_load({}, asked))
    assert not isinstance(created, Dead)
    fact, projection, state, changed, alerts = created
    assert asked == [("orders", "o-1")] and projection is ORDERS and changed and alerts == ()
    assert isinstance(state, OrderState) and state.state == "WAITING" and fact.aggregateId == "o-1"

    received = fold_record(encode_envelope(koywe_envelope("payment_received", "o-1", seconds=1)),
                           dict_load({"orders": {"o-1": state}}, asked))
    assert not isinstance(received, Dead) and received[2].state == "PENDING" and received[2] is not state


def test_a_redelivery_returns_the_loaded_state_itself_and_the_same_alerts(koywe_envelope: Callable[..., Envelope]) -> None:
    extra = {"originalOrder": {"amountIn": 1}, "orderAdjustedByBankIncome": {"amountIn": 2}}
    raw = encode_envelope(koywe_envelope("payment_received_modified_order_amount", "o-2", **extra))
    first = fold_record(raw, dict_load({}, []))
    assert not isinstance(first, Dead) and first[4]
    again = fold_record(raw, dict_load({"orders": {"o-2": first[2]}}, []))
    assert not isinstance(again, Dead)
    assert again[2] is first[2] and not again[3] and [a.id for a in again[4]] == [a.id for a in first[4]]


@pytest.mark.parametrize(("raw", "reason"), [(None, "empty record"), (b"", "empty record"),
                                             (b"no newline", "no metadata line"), (b'{"v":9}\n{}', "unsupported envelope version")])
def test_what_is_not_an_envelope_is_dead_without_an_envelope(raw: bytes | None, reason: str) -> None:
    asked: list[tuple[str, str]] = []
    dead = fold_record(raw, dict_load({}, asked))
    assert isinstance(dead, Dead) and dead.envelope is None and reason in dead.reason and asked == []


def test_an_envelope_no_fold_takes_is_dead_with_its_envelope(koywe_envelope: Callable[..., Envelope]) -> None:
    asked: list[tuple[str, str]] = []
    envelope = koywe_envelope("payment_teleported", "o-3")
    dead = fold_record(encode_envelope(envelope), dict_load({}, asked))
    assert isinstance(dead, Dead) and dead.envelope == envelope and "payment_teleported" in dead.reason and asked == []


def test_fold_into_keeps_states_alerts_once_and_dead_letters_and_returns_the_undecodable() -> None:
    log = raw_log(seed=3)
    rebuilt, touched = Rebuilt(), set[str]()
    undecodable = fold_into(rebuilt, [Raw(offset, value) for offset, (_, value) in enumerate(log)], touched)
    assert sorted(offset for offset, _ in undecodable) == [i for i, (_, value) in enumerate(log) if b"\n" not in value]
    assert {d.envelope.key for d in rebuilt.dead_letters} == {"ord-x", "ord-other"}
    assert touched == {key for name, table in rebuilt.states.items() for key in table}
    assert set(rebuilt.states) == {"orders", "kyc", "kuenta.payment", "kuenta.credit", "events"}
    assert len(rebuilt.alerts) == len({a.id for a in rebuilt.alerts.values()}) > 0

    again = Rebuilt()  # the same records once more change no state and add no alert
    fold_into(again, [Raw(offset, value) for offset, (_, value) in enumerate(log + log)])
    assert again.states == rebuilt.states and again.alerts == rebuilt.alerts
    assert rebuild(value for _, value in log).states == rebuilt.states


def test_an_event_its_fold_refuses_is_dead_lettered_not_raised(koywe_envelope: Callable[..., Envelope]) -> None:
    """A poison input (the fold raises on it) costs only itself: a dead letter with the reason."""
    envelope = koywe_envelope("payment_created", "ord-1", 0)

    def load(projection: Projection, key: str) -> Any:
        return "not a state"  # what the fold cannot take: `state.history` raises

    result = fold_record(encode_envelope(envelope), load)
    assert isinstance(result, Dead) and result.envelope == envelope
    assert result.reason.startswith("fold orders refused the event: AttributeError")


def test_a_load_that_fails_is_the_callers_failure_not_a_dead_letter(koywe_envelope: Callable[..., Envelope]) -> None:
    def load(projection: Projection, key: str) -> Any:
        raise OSError("IO error: No space left on device")

    with pytest.raises(OSError, match="No space"):
        fold_record(encode_envelope(koywe_envelope("payment_created", "ord-1", 0)), load)
