"""An alert's lifecycle: the actions taken on it and the state they lead to.

An alert (schemas/alerts.py, a deterministic id) is `open` once derived; operators acknowledge,
resolve or silence it until a time, and some alerts resolve by themselves when their condition
clears (projections/clearing.py). Every such input is an `AlertAction` on the topic
`<prefix>.alert-actions.v1`, kept forever: it is not derivable from the raw log. The lifecycle
(`AlertLifecycle`, on the compacted `<prefix>.lifecycle.v1`) is the fold of an alert and its
actions (projections/lifecycle.py), a function of that *set*, so a replay equals the live state.

Each state change is a `LifecycleChange` whose id is a pure function of (alert, new state, the
input that caused it): notifiers send it as the delivery id, so receivers deduplicate resends.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from schemas.alerts import Alert
from schemas.base import Frozen
from schemas.errors import AlertActionError


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    RESOLVED = "resolved"


#: What an action may be: an operator's `ack`, `resolve`, `silence`, or hooklog's own `clear`
#: (the alert's condition cleared: a resolve by the system) and `expire` (a silence's end came:
#: the alert is open again, and every sink is told so).
ActionKind = Literal["ack", "resolve", "silence", "clear", "expire"]

#: The operator actions the API and console take (`clear` is hooklog's alone).
OPERATOR_ACTIONS: tuple[ActionKind, ...] = ("ack", "resolve", "silence")

#: The actor of a `clear` and an `expire`.
SYSTEM_ACTOR = "hooklog"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


class AlertAction(Frozen):
    """One input to an alert's lifecycle. `id` is deterministic for a `clear` (alert, clearing
    event), so a re-derivation repeats it; an operator action's id is the request's own."""

    id: str
    alertId: str
    action: ActionKind
    at: datetime
    by: str
    until: datetime | None = None  # a silence's end
    reason: str | None = None


def action_id(alert_id: str, action: str, cause: str) -> str:
    """The id of an action from what caused it (a clearing event id, a request's nonce)."""
    return _digest("action", alert_id, action, cause)


def silence_expiry(alert_id: str, until: datetime) -> AlertAction:
    """The action that ends the silence lasting until `until`, at that time. Its id is a function
    of (alert, end), so every worker that sends it sends the same action, folded once."""
    return AlertAction(id=action_id(alert_id, "expire", until.isoformat()), alertId=alert_id, action="expire",
                       at=until, by=SYSTEM_ACTOR, until=until, reason="the silence ended")


class LifecycleChange(Frozen):
    """One transition of an alert, as notified: `id` = f(alert, state, cause), stable forever."""

    id: str
    alertId: str
    status: AlertStatus
    at: datetime
    by: str
    until: datetime | None = None
    reason: str | None = None


def change_id(alert_id: str, status: AlertStatus, cause: str) -> str:
    return _digest("change", alert_id, status.value, cause)


class AlertLifecycle(Frozen):
    """An alert's lifecycle state. `alert` is None while only actions are known (a clear can
    arrive before its alert). `actions` holds every distinct action, sorted by (at, id);
    `changes` every transition, the last one being the current state's."""

    alertId: str
    status: AlertStatus
    updatedAt: datetime | None
    alert: Alert | None = None
    silencedUntil: datetime | None = None
    actions: tuple[AlertAction, ...] = ()
    changes: tuple[LifecycleChange, ...] = ()

    def status_at(self, now: datetime) -> AlertStatus:
        """The state as it stands at `now`: a silence that has ended is open again."""
        if self.status is AlertStatus.SILENCED and self.silencedUntil is not None and self.silencedUntil <= now:
            return AlertStatus.OPEN
        return self.status


def lifecycle_key(alert_id: str) -> bytes:
    """An alert, an action and a lifecycle share the alert id as their key (co-partitioned)."""
    return alert_id.encode()


ALERT_ID = re.compile(r"[0-9a-f]{32}")
MAX_SILENCE = timedelta(days=90)


def operator_action(alert_id: str, kind: str, *, by: str, at: datetime, nonce: str,
                    until: datetime | None = None, reason: str | None = None) -> AlertAction:
    """An operator's ack/resolve/silence, checked; AlertActionError says what is wrong. `nonce`
    makes the id (a client's Idempotency-Key, so its retry is one action; else a random one)."""
    if not ALERT_ID.fullmatch(alert_id):
        raise AlertActionError(f"{alert_id!r} is not an alert id (32 hex digits, as GET /alerts lists them)")
    if kind not in OPERATOR_ACTIONS:
        raise AlertActionError(f"the action must be one of {', '.join(OPERATOR_ACTIONS)}, not {kind!r}")
    if kind == "silence":
        if until is None or until <= at:
            raise AlertActionError("a silence needs `until` (an ISO 8601 time in the future) or `forSeconds` > 0")
        if until - at > MAX_SILENCE:
            raise AlertActionError(f"a silence may last at most {MAX_SILENCE.days} days")
    elif until is not None:
        raise AlertActionError(f"only a silence has an end; {kind} takes no `until`")
    return AlertAction(id=action_id(alert_id, kind, nonce), alertId=alert_id, action=kind,  # type: ignore[arg-type]
                       at=at, by=by[:200], until=until, reason=(reason or None) and reason[:500])
