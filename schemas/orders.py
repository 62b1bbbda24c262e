"""The Koywe order projection's state, as published on `hooklog.orders.v1` and `GET /orders/{id}`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from schemas.history import HistoryEntry


class OrderStatus(StrEnum):
    """Koywe's seven order states (EXECUTING has no webhook of its own)."""

    WAITING = "WAITING"
    PENDING = "PENDING"
    EXECUTING = "EXECUTING"
    IN_PROGRESS = "IN_PROGRESS"
    INVALID_WITHDRAWALS_DETAILS = "INVALID_WITHDRAWALS_DETAILS"
    REJECTED = "REJECTED"
    DELIVERED = "DELIVERED"


class AmountAdjustment(BaseModel):
    """The latest bank-income re-quote of the order (Peru wire deposits)."""

    model_config = ConfigDict(frozen=True)

    eventId: str
    originalAmountIn: Decimal | None
    adjustedAmountIn: Decimal | None
    originalAmountOut: Decimal | None
    adjustedAmountOut: Decimal | None


class OrderState(BaseModel):
    """Latest state of one order plus every distinct event that led there, oldest first."""

    model_config = ConfigDict(frozen=True)

    orderId: str
    state: OrderStatus
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]
    adjustment: AmountAdjustment | None = None
