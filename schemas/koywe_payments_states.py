"""States of the Koywe Payments API projections: orders, and contacts / merchants / invitations.

Published on `hooklog.koywe-payments.<family>s.v1` and answered by `GET /koywe-payments/<family>s/{id}`.
Both keep `digests` (event id -> content digest) beside the history: the history says which
events were applied, the digests whether a redelivery of one id carried another body.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from schemas.history import HistoryEntry, ProjectionState


class PaymentsOrderStatus(StrEnum):
    """A Payments API order's status, as the events' types name it."""

    CREATED = "created"
    APPROVED = "approved"
    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELED = "canceled"
    REFUNDED = "refunded"


class PaymentsOrderState(ProjectionState):
    """One order: the status its set of events gives (projections/koywe_payments.py), the
    amounts (`amount`: the order's, from `order.created`; `paidAmount`: from `order.paid`),
    the currency and the merchant's `externalId` when sent, and whether the events conflict
    (a paid path and a failure both came)."""

    id: str
    status: PaymentsOrderStatus
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]
    historyOmitted: int = 0  # entries left out past HOOKLOG_HISTORY_LIMIT (projections.history.bound_history)
    amount: Decimal | None = None
    paidAmount: Decimal | None = None
    paidEventId: str | None = None
    currency: str | None = None
    externalId: str | None = None
    created: bool = False
    conflict: bool = False
    digests: dict[str, str] = {}


class PaymentsResourceState(ProjectionState):
    """One contact, merchant or invitation: its status (the decisive event's part after the dot)
    and the data of the latest event (`dataEventId` names it, so a late older event cannot
    overwrite newer data)."""

    id: str
    family: str
    status: str
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]
    historyOmitted: int = 0  # entries left out past HOOKLOG_HISTORY_LIMIT (projections.history.bound_history)
    data: dict[str, Any] = {}
    dataEventId: str | None = None
    digests: dict[str, str] = {}
