"""Koywe's per-user webhooks: KYC, document-number updates, deposits without an order.

The provider's doc gives these events' names and meaning but no example payload, so the models
read what a payload plausibly carries and keep everything else (`extra="allow"`):
- the user: the first of `email`, `userId`, `accountId`, `customerId` present (email first,
  because Koywe's authentication callback identifies users by email); emails are lower-cased;
- the KYC outcome of `verification_completed`: the first of `status`, `result`, `kycStatus`,
  `verificationStatus` (verified | reviewNeeded | rejected, as the doc names them);
- document updates arrive either as `eventName: UPDATE_DOCUMENT_NUMBER` with the outcome in
  `status`/`result`/`type`/`event`, or with the outcome itself as `eventName`;
- deposits: `eventName` `NEW_DEPOSIT_REGISTERED` or `deposit_without_order`, amount in
  `amount`/`amountIn`, currency in `currency`/`symbol`/`currencySymbol`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from schemas.base import Open
from schemas.errors import DecodeError, UnknownEventError
from schemas.jsonbody import load_object

USER_ID_MEMBERS = ("email", "userId", "accountId", "customerId")
KYC_EVENTS = frozenset({"verification_started", "verification_inputs_completed", "verification_completed",
                        "verification_expired"})
DOCUMENT_OUTCOMES = frozenset({"document_number_sucessfully_updated", "document_number_failed_to_update"})
DOCUMENT_EVENTS = DOCUMENT_OUTCOMES | {"UPDATE_DOCUMENT_NUMBER"}
DEPOSIT_EVENTS = frozenset({"NEW_DEPOSIT_REGISTERED", "deposit_without_order"})
USER_EVENTS = KYC_EVENTS | DOCUMENT_EVENTS | DEPOSIT_EVENTS
KYC_OUTCOMES = {"verified": "verified", "reviewneeded": "reviewNeeded", "review_needed": "reviewNeeded",
                "rejected": "rejected"}


def _first(doc: dict[str, Any], members: tuple[str, ...]) -> Any:
    return next((doc[m] for m in members if doc.get(m) not in (None, "")), None)


def user_key(text: str) -> str:
    """A user id as ingest keys its raw records (and the kyc table its rows): stripped, an
    email lower-cased. Queries (`/kyc/{id}`, `/auth/koywe`, the console) normalise with it too."""
    text = text.strip()
    return text.lower() if "@" in text else text


def user_id_of(doc: dict[str, Any]) -> str | None:
    """The aggregate id of a user event (see module docstring), or None."""
    value = _first(doc, USER_ID_MEMBERS)
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    return user_key(str(value)) or None


class KoyweUserEvent(Open):
    """One per-user event, normalised: `kind` is kyc | document | deposit."""

    # (The docstring is the exported schema's description.) Decoding gives one subclass per
    # kind, below; the folds dispatch on that class.

    eventName: str
    kind: str
    userId: str
    timeStamp: datetime | None = None
    outcome: str | None = None
    message: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


class KoyweKycEvent(KoyweUserEvent):
    """verification_started, _inputs_completed, _completed (its `outcome`) or _expired."""


class KoyweDocumentEvent(KoyweUserEvent):
    """A document-number update; `outcome` says whether it succeeded, `message` why not."""


class KoyweDepositEvent(KoyweUserEvent):
    """Money that arrived without an order (`amount`, `currency`, the rest as sent)."""


#: kind -> its class: the folds dispatch on the class, so `kind` is never compared again.
USER_EVENT_TYPES: dict[str, type[KoyweUserEvent]] = {
    "kyc": KoyweKycEvent, "document": KoyweDocumentEvent, "deposit": KoyweDepositEvent,
}


def _outcome(doc: dict[str, Any], event_name: str) -> str | None:
    if event_name == "verification_completed":
        raw = _first(doc, ("status", "result", "kycStatus", "verificationStatus"))
        outcome = KYC_OUTCOMES.get(str(raw).replace(" ", "").lower()) if raw is not None else None
        if outcome is None:
            raise DecodeError("verification_completed needs `status` verified, reviewNeeded or rejected; "
                              f"got {raw!r}")
        return outcome
    if event_name == "UPDATE_DOCUMENT_NUMBER":
        raw = _first(doc, ("status", "result", "type", "event"))
        if raw not in DOCUMENT_OUTCOMES:
            raise DecodeError(f"UPDATE_DOCUMENT_NUMBER needs its outcome ({' or '.join(sorted(DOCUMENT_OUTCOMES))}); got {raw!r}")
        return str(raw)
    return event_name if event_name in DOCUMENT_OUTCOMES else None


def decode_user_event(body: bytes) -> KoyweUserEvent:
    """Validate a per-user Koywe webhook; DecodeError names what is missing."""
    doc = load_object(body)
    name = doc.get("eventName")
    if not isinstance(name, str) or name not in USER_EVENTS:
        raise UnknownEventError(f"unknown Koywe user event {name!r}; see the provider docs")
    user = user_id_of(doc)
    if user is None:
        raise DecodeError(f"{name} names no user: expected one of {', '.join(USER_ID_MEMBERS)}")
    kind = "kyc" if name in KYC_EVENTS else "document" if name in DOCUMENT_EVENTS else "deposit"
    message = _first(doc, ("message", "error", "reason"))
    fields = {k: v for k, v in doc.items() if k not in KoyweUserEvent.model_fields and k != "signature"}
    try:
        return USER_EVENT_TYPES[kind].model_validate({
            **fields, "eventName": name, "kind": kind, "userId": user, "timeStamp": doc.get("timeStamp"),
            "outcome": _outcome(doc, name), "message": None if message is None else str(message),
            "amount": _first(doc, ("amount", "amountIn")) if kind == "deposit" else None,
            "currency": _first(doc, ("currency", "symbol", "currencySymbol")) if kind == "deposit" else None,
        })
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DecodeError(f"invalid Koywe {name} event at {where}: {first['msg']}") from exc
