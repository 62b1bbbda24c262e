"""The alert lifecycle fold: `(AlertLifecycle | None, Alert | AlertAction) -> (state, changes)`.

The state keeps the alert and the *set* of its distinct actions; the status is a function of
that set, walked in (time, id) order, so duplicates and arrival order change nothing and a
replay of the alerts and actions topics equals the live state:

- open --ack--> acknowledged; open/acknowledged --silence(until)--> silenced; silenced --ack-->
  acknowledged; any --resolve/clear--> resolved, which is final (the alert's event happened
  once; a new occurrence is a new alert with its own id).
- A silence whose `until` has passed reads as open again (`AlertLifecycle.status_at`); the
  folder then records an `expire` action (`schemas.lifecycle.silence_expiry`), which opens it
  again for good, a change every sink is told (streams/notify/lifecycle.py).

A change is emitted when the status (or a silence's end) differs from the last one notified,
and only once the alert itself is known: a clear can arrive before its alert, and the alert then
opens resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from schemas.alerts import Alert
from schemas.lifecycle import (
    SYSTEM_ACTOR, AlertAction, AlertLifecycle, AlertStatus, LifecycleChange, change_id,
)

S = AlertStatus
Input = Alert | AlertAction


class Standing(NamedTuple):
    """Where the actions leave an alert, and the input that decided it (the change's cause)."""

    status: AlertStatus
    until: datetime | None
    cause: str
    at: datetime | None
    by: str
    reason: str | None


def _ack(now: Standing, action: AlertAction) -> Standing:
    if now.status is S.ACKNOWLEDGED:
        return now
    return Standing(S.ACKNOWLEDGED, None, action.id, action.at, action.by, action.reason)


def _silence(now: Standing, action: AlertAction) -> Standing:
    return Standing(S.SILENCED, action.until, action.id, action.at, action.by, action.reason)


def _expire(now: Standing, action: AlertAction) -> Standing:
    """The end of the silence that lasts until `action.until`; nothing once another silence
    replaced it or an operator acted since."""
    if now.status is S.SILENCED and now.until == action.until:
        return Standing(S.OPEN, None, action.id, action.at, action.by, action.reason)
    return now


def _resolve(now: Standing, action: AlertAction) -> Standing:
    return Standing(S.RESOLVED, None, action.id, action.at, action.by, action.reason)


#: action kind -> how it moves a (not yet resolved) alert.
STEPS: dict[str, Callable[[Standing, AlertAction], Standing]] = {
    "ack": _ack, "silence": _silence, "resolve": _resolve, "clear": _resolve, "expire": _expire,
}


def standing(alert: Alert | None, alert_id: str, actions: tuple[AlertAction, ...]) -> Standing:
    """The status the sorted `actions` lead to from open; resolved ends the walk."""
    now = Standing(S.OPEN, None, alert_id, alert.occurredAt if alert else None, SYSTEM_ACTOR, None)
    for action in actions:
        if now.status is S.RESOLVED:
            break
        now = STEPS[action.action](now, action)
    return now


def _order(action: AlertAction) -> tuple[datetime, str]:
    return action.at, action.id


def _change(alert_id: str, now: Standing) -> LifecycleChange:
    return LifecycleChange(id=change_id(alert_id, now.status, now.cause), alertId=alert_id, status=now.status,
                           at=now.at, by=now.by, until=now.until, reason=now.reason)


def _settle(alert_id: str, alert: Alert | None, actions: tuple[AlertAction, ...],
            before: AlertLifecycle | None) -> tuple[AlertLifecycle, tuple[LifecycleChange, ...]]:
    now = standing(alert, alert_id, actions)
    changes = before.changes if before else ()
    emitted: tuple[LifecycleChange, ...] = ()
    last = changes[-1] if changes else None
    if alert is not None and (last is None or (last.status, last.until) != (now.status, now.until)):
        emitted = (_change(alert_id, now),)
    state = AlertLifecycle(alertId=alert_id, status=now.status, updatedAt=now.at, alert=alert,
                           silencedUntil=now.until, actions=actions, changes=changes + emitted)
    return state, emitted


def _with_alert(state: AlertLifecycle | None, alert: Alert) -> tuple[AlertLifecycle, tuple[LifecycleChange, ...]]:
    if state is not None and state.alert is not None:
        return state, ()  # the same alert again (a redelivery, a re-derivation): same id, same facts
    return _settle(alert.id, alert, state.actions if state else (), state)


def _with_action(state: AlertLifecycle | None,
                 action: AlertAction) -> tuple[AlertLifecycle, tuple[LifecycleChange, ...]]:
    actions = state.actions if state else ()
    if any(known.id == action.id for known in actions):
        return state, ()  # type: ignore[return-value] - a known id means a state holds it
    return _settle(action.alertId, state.alert if state else None, tuple(sorted((*actions, action), key=_order)), state)


#: input class -> its rule.
RULES: dict[type, Callable[[Any, Any], tuple[AlertLifecycle, tuple[LifecycleChange, ...]]]] = {
    Alert: _with_alert, AlertAction: _with_action,
}


def fold_lifecycle(state: AlertLifecycle | None, item: Input) -> tuple[AlertLifecycle, tuple[LifecycleChange, ...]]:
    """Apply one alert or action. A repeat returns the very state it was given and no change."""
    rule = RULES.get(type(item))
    if rule is None:
        raise TypeError(f"fold_lifecycle takes an Alert or an AlertAction, not {type(item).__name__}")
    return rule(state, item)


def parse_input(topic_kind: str, value: bytes | None) -> Input:
    """An alerts (`topic_kind` "alerts") or actions ("actions") record's value as its model;
    pydantic's ValidationError for anything else (the shells log and skip it)."""
    return (Alert if topic_kind == "alerts" else AlertAction).model_validate_json(value or b"")


def input_key(item: Input) -> str:
    """The alert an input belongs to: an alert's own id, an action's alert id."""
    return item.id if isinstance(item, Alert) else item.alertId


def fold_lifecycles(items: Iterable[Input]) -> dict[str, AlertLifecycle]:
    """Every alert's lifecycle folded from scratch over `items` (verify's refold, a replay
    generation's lifecycles): alert id -> its state."""
    states: dict[str, AlertLifecycle] = {}
    for item in items:
        key = input_key(item)
        states[key], _ = fold_lifecycle(states.get(key), item)
    return states
