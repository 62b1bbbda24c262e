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


#: How urgent each alert type is: what the notifiers' severity filters and Alertmanager's
#: `severity` label see (docs/alerts.md). A type not listed (a future one) is a warning.
SEVERITY: dict[str, str] = {
    "order_amount_modified": "warning",
    "order_rejected_by_compliance": "critical",
    "order_crypto_tx_failed": "critical",
    "kyc_review_needed": "warning",
    "kyc_rejected": "info",
    "document_number_updated": "info",
    "document_number_update_failed": "warning",
    "deposit_without_order": "critical",
    "kuenta_payment_failed": "warning",
    "kuenta_payment_refunded": "info",
    "kuenta_credit_rejected": "info",
    "kuenta_document_expired": "warning",
    "kuenta_validation_failed": "warning",
    "koywe_payments_event_changed": "warning",
    "koywe_payments_order_conflict": "critical",
    "koywe_payments_amount_mismatch": "critical",
    "koywe_payments_order_not_created": "info",
}

SEVERITIES = ("info", "warning", "critical")


def severity_of(alert_type: str) -> str:
    return SEVERITY.get(alert_type, "warning")
