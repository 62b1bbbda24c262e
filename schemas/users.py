"""A Koywe user's projection (`hooklog.kyc.v1`, `GET /kyc/{userId}`): KYC, document, deposits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from schemas.base import Frozen
from schemas.history import HistoryEntry, ProjectionState


class KycStatus(StrEnum):
    """notVerified -> processing -> verified | reviewNeeded -> verified | rejected; expiry -> notVerified."""

    NOT_VERIFIED = "notVerified"
    PROCESSING = "processing"
    REVIEW_NEEDED = "reviewNeeded"
    VERIFIED = "verified"
    REJECTED = "rejected"


class DocumentUpdate(Frozen):
    status: str
    message: str | None
    eventId: str
    updatedAt: datetime


class Deposit(Frozen):
    """Money that arrived without an order: to reconcile."""

    eventId: str
    amount: Decimal | None
    currency: str | None
    receivedAt: datetime
    details: dict[str, object]


class UserState(ProjectionState):
    userId: str
    kyc: KycStatus
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]
    historyOmitted: int = 0  # entries left out past HOOKLOG_HISTORY_LIMIT (projections.history.bound_history)
    documentNumber: DocumentUpdate | None = None
    deposits: tuple[Deposit, ...] = ()
