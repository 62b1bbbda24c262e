"""Koywe's order webhooks, as the newest (Spanish) doc lists them.

Every model keeps unknown fields (`extra="allow"`): Koywe may add members, and a field we do
not know yet must never make us reject a signed, stored event.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from schemas.base import Open
from schemas.errors import DecodeError, UnknownEventError
from schemas.jsonbody import validate_body


class _Open(Open):
    model_config = ConfigDict(populate_by_name=True)


class KoyweOrderSnapshot(_Open):
    """An order as Koywe sends it inside `payment_received_modified_order_amount`."""

    orderId: str | None = None
    amountIn: Decimal | None = None
    amountOut: Decimal | None = None
    symbolIn: str | None = None
    symbolOut: str | None = None


class KoyweOrderEventBase(_Open):
    """Members every order event has (doc example: eventName, orderId, timeStamp, signature)."""

    eventName: str
    orderId: Annotated[str, Field(min_length=1)]
    timeStamp: datetime | None = None
    signature: str | None = Field(default=None, exclude=True)


def _event(name: str) -> type[KoyweOrderEventBase]:
    """One model per documented event name; the name is the discriminator."""
    model = type(
        "".join(part.capitalize() for part in name.split("_")),
        (KoyweOrderEventBase,),
        {"__annotations__": {"eventName": Literal[name]}, "__module__": __name__},
    )
    return model  # type: ignore[return-value]


PaymentCreated = _event("payment_created")
PaymentReceived = _event("payment_received")
PaymentRejected = _event("payment_rejected")
PaymentRejectedByCompliance = _event("payment_rejected_by_compliance")
WireOrderCanceled = _event("wire_order_canceled")
PaymentExpired = _event("payment_expired")
CryptoTxSent = _event("crypto_tx_sent")
CryptoDelivered = _event("crypto_delivered")
CryptoTxFailed = _event("crypto_tx_failed")
FiatSent = _event("fiat_sent")
FiatDelivered = _event("fiat_delivered")
InvalidWithdrawalsDetails = _event("invalid_withdrawals_details")


class PaymentReceivedModifiedOrderAmount(KoyweOrderEventBase):
    """Peru bank deposits: the order was re-quoted to the amount actually deposited."""

    eventName: Literal["payment_received_modified_order_amount"]
    originalOrder: KoyweOrderSnapshot
    orderAdjustedByBankIncome: KoyweOrderSnapshot


KoyweOrderEvent = Annotated[
    Union[
        PaymentCreated, PaymentReceived, PaymentRejected, PaymentRejectedByCompliance,  # type: ignore[valid-type]
        WireOrderCanceled, PaymentExpired, PaymentReceivedModifiedOrderAmount, CryptoTxSent,  # type: ignore[valid-type]
        CryptoDelivered, CryptoTxFailed, FiatSent, FiatDelivered, InvalidWithdrawalsDetails,  # type: ignore[valid-type]
    ],
    Field(discriminator="eventName"),
]

ORDER_EVENT_NAMES: frozenset[str] = frozenset(
    {
        "payment_created", "payment_received", "payment_received_modified_order_amount",
        "payment_rejected", "payment_rejected_by_compliance", "wire_order_canceled",
        "payment_expired", "crypto_tx_sent", "crypto_delivered", "crypto_tx_failed",
        "fiat_sent", "fiat_delivered", "invalid_withdrawals_details",
    }
)

#: The adapter's validator itself: `TypeAdapter.validate_json`'s Python wrapper costs as much again.
_ORDER_EVENT = TypeAdapter(KoyweOrderEvent).validator


def decode_order_event(body: bytes) -> KoyweOrderEventBase:
    """Validate a Koywe order webhook body; DecodeError says which member is wrong."""
    try:
        return validate_body(_ORDER_EVENT, body)  # lone surrogates: see schemas/jsonbody.py
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "union_tag_invalid":
            tag = first.get("ctx", {}).get("tag")
            raise UnknownEventError(f"unknown Koywe order event {tag!r}; see the provider docs") from exc
        where = ".".join(str(part) for part in first["loc"])
        raise DecodeError(f"invalid Koywe order event at {where or 'body'}: {first['msg']}") from exc
