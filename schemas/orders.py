"""The Koywe order projection's state, as published on `hooklog.orders.v1` and `GET /orders/{id}`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from schemas.base import Frozen
from schemas.history import HistoryEntry, ProjectionState


class OrderStatus(StrEnum):
    """Koywe's seven order states (EXECUTING has no webhook of its own)."""

    WAITING = "WAITING"
    PENDING = "PENDING"
    EXECUTING = "EXECUTING"
    IN_PROGRESS = "IN_PROGRESS"
    INVALID_WITHDRAWALS_DETAILS = "INVALID_WITHDRAWALS_DETAILS"
    REJECTED = "REJECTED"
    DELIVERED = "DELIVERED"


class AmountAdjustment(Frozen):
    """The latest bank-income re-quote of the order (Peru wire deposits)."""

    eventId: str
    originalAmountIn: Decimal | None
    adjustedAmountIn: Decimal | None
    originalAmountOut: Decimal | None
    adjustedAmountOut: Decimal | None


class OrderState(ProjectionState):
    """Latest state of one order plus every distinct event that led there, oldest first."""

    orderId: str
    state: OrderStatus
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]
    historyOmitted: int = 0  # entries left out past HOOKLOG_HISTORY_LIMIT (projections.history.bound_history)
    adjustment: AmountAdjustment | None = None
