"""Derived alerts: things a person or a downstream service must act on."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from schemas.base import Frozen


class Alert(Frozen):
    """One alert; `id` is a pure function of (type, source, event id) so replays repeat it."""

    id: str
    type: str
    source: str
    aggregateId: str
    eventId: str
    occurredAt: datetime
    details: dict[str, Any]


def alert_id(alert_type: str, source: str, event_id: str) -> str:
    """Deterministic: the same event always yields the same alert id, live or in a replay."""
    return hashlib.sha256(f"{alert_type}\x00{source}\x00{event_id}".encode()).hexdigest()[:32]


def make_alert(
    alert_type: str, *, source: str, aggregate_id: str, event_id: str, occurred_at: datetime,
    details: dict[str, Any],
) -> Alert:
    return Alert(
        id=alert_id(alert_type, source, event_id), type=alert_type, source=source,
        aggregateId=aggregate_id, eventId=event_id, occurredAt=occurred_at, details=details,
    )
