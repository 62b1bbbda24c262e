"""The alert lifecycle fold: transitions, idempotence, order-independence, stable change ids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from projections.lifecycle import fold_lifecycle
from schemas.alerts import Alert, make_alert
from schemas.lifecycle import AlertAction, AlertLifecycle, AlertStatus, LifecycleChange, action_id, silence_expiry

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 20, 10, tzinfo=UTC)
S = AlertStatus


def alert(event: str = "e1") -> Alert:
    return make_alert("order_crypto_tx_failed", source="koywe", aggregate_id="ord-1", event_id=event,
                      occurred_at=T0, details={})


def act(kind: str, seconds: float, target: Alert | None = None, until_s: float | None = None) -> AlertAction:
    target = target or alert()
    return AlertAction(id=action_id(target.id, kind, f"{kind}-{seconds}"), alertId=target.id, action=kind,  # type: ignore[arg-type]
                       at=T0 + timedelta(seconds=seconds), by="ops@example.com",
                       until=None if until_s is None else T0 + timedelta(seconds=until_s))


def run(*items: Alert | AlertAction) -> tuple[AlertLifecycle, list[LifecycleChange]]:
    state, changes = None, []
    for item in items:
        state, new = fold_lifecycle(state, item)
        changes.extend(new)
    assert state is not None
    return state, changes


def test_an_alert_opens() -> None:
    state, changes = run(alert())
    assert state.status is S.OPEN and [c.status for c in changes] == [S.OPEN]
    assert state.alert == alert() and changes[0].at == T0


@pytest.mark.parametrize(("kinds", "expected"), [
    (("ack",), [S.OPEN, S.ACKNOWLEDGED]),
    (("ack", "ack"), [S.OPEN, S.ACKNOWLEDGED]),
    (("resolve",), [S.OPEN, S.RESOLVED]),
    (("clear",), [S.OPEN, S.RESOLVED]),
    (("ack", "resolve", "ack", "silence"), [S.OPEN, S.ACKNOWLEDGED, S.RESOLVED]),
    (("silence", "ack"), [S.OPEN, S.SILENCED, S.ACKNOWLEDGED]),
])
def test_transitions(kinds: tuple[str, ...], expected: list[AlertStatus]) -> None:
    actions = [act(kind, n + 1, until_s=3600 if kind == "silence" else None) for n, kind in enumerate(kinds)]
    state, changes = run(alert(), *actions)
    assert [c.status for c in changes] == expected
    assert state.status is expected[-1]


def test_a_silence_ends_at_its_time() -> None:
    state, changes = run(alert(), act("silence", 1, until_s=60))
    assert state.status is S.SILENCED and changes[-1].until == T0 + timedelta(seconds=60)
    assert state.status_at(T0 + timedelta(seconds=59)) is S.SILENCED
    assert state.status_at(T0 + timedelta(seconds=60)) is S.OPEN


def test_a_silence_expiry_opens_the_alert_again_as_a_change_of_its_own() -> None:
    end = T0 + timedelta(seconds=60)
    state, changes = run(alert(), act("silence", 1, until_s=60), silence_expiry(alert().id, end))
    assert state.status is S.OPEN and state.silencedUntil is None
    assert [c.status for c in changes] == [S.OPEN, S.SILENCED, S.OPEN]
    assert changes[2].at == end and changes[2].by == "hooklog" and changes[0].id != changes[2].id
    again, more = fold_lifecycle(state, silence_expiry(alert().id, end))  # a second worker's expiry: the same id
    assert again is state and more == ()


@pytest.mark.parametrize("then", ["silence", "ack", "resolve"])
def test_a_silence_expiry_does_nothing_once_replaced_or_acted_on(then: str) -> None:
    first_end = T0 + timedelta(seconds=60)
    later = act(then, 30, until_s=600 if then == "silence" else None)
    state, changes = run(alert(), act("silence", 1, until_s=60), later, silence_expiry(alert().id, first_end))
    assert state.status is {"silence": S.SILENCED, "ack": S.ACKNOWLEDGED, "resolve": S.RESOLVED}[then]
    assert len(changes) == 3  # open, silenced, then's: the stale expiry is no change


def test_an_expiry_folded_in_any_order_gives_the_same_status() -> None:
    items = [alert(), act("silence", 1, until_s=60), silence_expiry(alert().id, T0 + timedelta(seconds=60))]
    finals = {run(*order)[0].model_dump_json(exclude={"changes"}) for order in itertools.permutations(items)}
    assert len(finals) == 1 and '"status":"open"' in finals.pop()


def test_a_longer_silence_is_a_change_of_its_own() -> None:
    _, changes = run(alert(), act("silence", 1, until_s=60), act("silence", 2, until_s=120))
    assert [c.until for c in changes[1:]] == [T0 + timedelta(seconds=60), T0 + timedelta(seconds=120)]
    assert changes[1].id != changes[2].id


def test_repeats_return_the_same_state_and_nothing_to_notify() -> None:
    state, _ = run(alert(), act("ack", 1))
    assert fold_lifecycle(state, alert()) == (state, ())
    assert fold_lifecycle(state, act("ack", 1)) == (state, ())
    assert fold_lifecycle(state, alert())[0] is state


def test_the_status_is_a_function_of_the_set_of_inputs() -> None:
    items = [alert(), act("ack", 1), act("silence", 2, until_s=99), act("resolve", 3), act("ack", 4)]
    finals = {run(*order)[0].model_dump_json(exclude={"changes"}) for order in itertools.permutations(items)}
    assert len(finals) == 1
    assert '"status":"resolved"' in finals.pop()


def test_a_clear_before_its_alert_opens_it_resolved() -> None:
    state, changes = run(act("clear", 5))
    assert state.status is S.RESOLVED and state.alert is None and changes == []
    state, changes = run(act("clear", 5), alert())
    assert [c.status for c in changes] == [S.RESOLVED] and state.alert is not None


def test_change_ids_are_stable_and_distinct() -> None:
    one = run(alert(), act("ack", 1), act("resolve", 2))[1]
    two = run(alert(), act("ack", 1), act("resolve", 2))[1]
    assert [c.id for c in one] == [c.id for c in two]
    assert len({c.id for c in one}) == 3
    other = run(alert("e2"))[1]
    assert other[0].id != one[0].id


def test_anything_else_is_refused() -> None:
    with pytest.raises(TypeError, match="Alert or an AlertAction"):
        fold_lifecycle(None, "ack")  # type: ignore[arg-type]
