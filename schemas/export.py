"""JSON Schemas of every value hooklog publishes, exported from the pydantic models themselves,
so the contract downstream services code against cannot drift from the code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.alerts import Alert
from schemas.deadletter import DeadLetterMeta
from schemas.envelope import Envelope
from schemas.generic import GenericState
from schemas.koywe import KoyweOrderEvent
from schemas.koywe_payments import PaymentsEvent
from schemas.koywe_payments_states import PaymentsOrderState, PaymentsResourceState
from schemas.koywe_users import KoyweUserEvent
from schemas.kuenta import AnyKuentaEvent, KuentaState
from schemas.orders import OrderState
from schemas.users import UserState

#: name -> (model or type, what it describes)
PUBLISHED: dict[str, tuple[Any, str]] = {
    "raw-envelope": (Envelope, "metadata line of a hooklog.raw.v1 record (the body bytes follow it)"),
    "orders": (OrderState, "hooklog.orders.v1 values and GET /orders/{orderId}"),
    "kyc": (UserState, "hooklog.kyc.v1 values and GET /kyc/{userId}"),
    "kuenta": (KuentaState, "hooklog.kuenta.<family>.v1 values and GET /kuenta/{family}/{id}"),
    "koywe-payments-order": (PaymentsOrderState,
                             "hooklog.koywe-payments.orders.v1 values and GET /koywe-payments/orders/{id}"),
    "koywe-payments-resource": (PaymentsResourceState, "hooklog.koywe-payments.{contacts,merchants,invitations}.v1 "
                                "values and GET /koywe-payments/{family}/{id}"),
    "events": (GenericState, "hooklog.events.v1 values and GET /events/{source}/{id}"),
    "alert": (Alert, "hooklog.alerts.v1 values"),
    "dead-letter": (DeadLetterMeta, "metadata line of a hooklog.dlq.v1 record (the raw record follows it)"),
    "koywe-order-event": (KoyweOrderEvent, "Koywe order webhooks as accepted"),
    "koywe-user-event": (KoyweUserEvent, "Koywe per-user webhooks, normalised"),
    "kuenta-event": (AnyKuentaEvent, "Kuenta webhooks as accepted"),
    "koywe-payments-event": (PaymentsEvent, "Koywe Payments API webhooks as accepted"),
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """Serialization-mode schemas (what the JSON on the wire looks like)."""
    out: dict[str, dict[str, Any]] = {}
    for name, (model, about) in PUBLISHED.items():
        if isinstance(model, type) and issubclass(model, BaseModel):
            schema = model.model_json_schema(mode="serialization")
        else:
            schema = TypeAdapter(model).json_schema(mode="serialization")
        out[name] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "description": about, **schema}
    return out
