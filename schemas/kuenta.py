"""Kuenta's webhooks (credit, payment, document, validation), as its Spanish doc lists them.

Payload (doc: "Estructura del payload"): `{"event": "<family>.<...>.<status>", "data": {"id": ...,
...}, "timestamp": ...}`. The doc shows only a credit application's `data`; every other member is
undocumented, so every model keeps unknown fields (`extra="allow"`): a member we do not know yet
must never make us reject a signed, stored event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import Field, TypeAdapter, ValidationError

from schemas.base import Open
from schemas.envelope import Envelope
from schemas.errors import DecodeError, UnknownEventError
from schemas.history import Fact, HistoryEntry, ProjectionState, make_fact
from schemas.jsonbody import validate_body

CreditEventName = Literal[
    "credit.application.created", "credit.application.approved", "credit.application.rejected",
    "credit.disbursed", "credit.completed",
]
PaymentEventName = Literal["payment.created", "payment.completed", "payment.failed", "payment.refunded"]
DocumentEventName = Literal["document.created", "document.signed", "document.expired"]
ValidationEventName = Literal["validation.started", "validation.completed", "validation.failed"]

KuentaFamily = Literal["credit", "payment", "document", "validation"]

#: family -> the event names the doc lists for it ("Eventos disponibles").
KUENTA_EVENTS: dict[str, frozenset[str]] = {
    "credit": frozenset(get_args(CreditEventName)),
    "payment": frozenset(get_args(PaymentEventName)),
    "document": frozenset(get_args(DocumentEventName)),
    "validation": frozenset(get_args(ValidationEventName)),
}

KUENTA_EVENT_NAMES: frozenset[str] = frozenset().union(*KUENTA_EVENTS.values())

_SHAPE = '{"event": "<family>.<...>", "data": {"id": "...", ...}, "timestamp": "<ISO 8601>"}'


def family_of(event_name: str) -> str:
    """The family is the event name's first dotted part (`credit.application.created` -> credit)."""
    return event_name.split(".", 1)[0]


def status_of(event_name: str) -> str:
    """The status an event leads to is its last dotted part (`credit.disbursed` -> disbursed)."""
    return event_name.rsplit(".", 1)[-1]


class KuentaData(Open):
    """The thing an event is about; `id` is its aggregate id (the doc's example: `app_123`)."""

    id: Annotated[str, Field(min_length=1)]
    amount: Decimal | None = None


class KuentaEvent(Open):
    """Members every Kuenta event has; `timestamp` is optional so a bare event still decodes."""

    event: str
    data: KuentaData
    timestamp: datetime | None = None

    @property
    def family(self) -> str:
        return family_of(self.event)


class KuentaCreditEvent(KuentaEvent):
    event: CreditEventName  # type: ignore[assignment]


class KuentaPaymentEvent(KuentaEvent):
    event: PaymentEventName  # type: ignore[assignment]


class KuentaDocumentEvent(KuentaEvent):
    event: DocumentEventName  # type: ignore[assignment]


class KuentaValidationEvent(KuentaEvent):
    event: ValidationEventName  # type: ignore[assignment]


AnyKuentaEvent = Annotated[
    Union[KuentaCreditEvent, KuentaPaymentEvent, KuentaDocumentEvent, KuentaValidationEvent],
    Field(discriminator="event"),
]

#: The adapter's validator itself: `TypeAdapter.validate_json`'s Python wrapper costs as much again.
_KUENTA_EVENT = TypeAdapter(AnyKuentaEvent).validator


class KuentaState(ProjectionState):
    """Latest state of one credit, payment, document or validation (`GET /kuenta/{family}/{id}`).

    `amount` is the latest amount any event carried, by event time; `amountEventId` names that
    event, because history entries keep no payload and without it a late older event could not
    tell whether its amount is newer than the one held (the result would depend on arrival order).
    """

    id: str
    family: KuentaFamily
    status: str
    updatedAt: datetime
    history: tuple[HistoryEntry, ...]
    historyOmitted: int = 0  # entries left out past HOOKLOG_HISTORY_LIMIT (projections.history.bound_history)
    amount: Decimal | None = None
    amountEventId: str | None = None


def _clip(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _decode_error(exc: ValidationError) -> DecodeError:
    """One actionable message per failure; names members and types, never echoes the body."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    if kind == "union_tag_invalid":
        tag = _clip(str(first.get("ctx", {}).get("tag")))
        return UnknownEventError(
            f"unknown Kuenta event {tag!r}; the doc lists: {', '.join(sorted(KUENTA_EVENT_NAMES))}"
        )
    if kind == "union_tag_not_found":
        return DecodeError(f"Kuenta webhook has no 'event' member; expected {_SHAPE}")
    if kind == "json_invalid":
        return DecodeError(f"Kuenta webhook body is not JSON ({first['msg']}); expected {_SHAPE}")
    loc = list(first["loc"])
    name = ""
    if loc and loc[0] in KUENTA_EVENT_NAMES:
        name = f"{loc.pop(0)} "  # the discriminator's tag, not a member
    if not loc:
        got = type(first.get("input")).__name__
        return DecodeError(f"Kuenta webhook body must be a JSON object, got {got}; expected {_SHAPE}")
    where = ".".join(str(part) for part in loc)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return DecodeError(f"invalid Kuenta {name}event at {where}: {first['msg']}{more}; expected {_SHAPE}")


def decode_kuenta_event(body: bytes) -> KuentaEvent:
    """Validate a Kuenta webhook body; UnknownEventError for a name the doc does not list."""
    try:
        return validate_body(_KUENTA_EVENT, body)  # lone surrogates: see schemas/jsonbody.py
    except ValidationError as exc:
        raise _decode_error(exc) from exc


def decode_kuenta_fact(envelope: Envelope) -> Fact:
    """Raw Kuenta delivery -> Fact; the aggregate is `data.id`, the time the provider's timestamp."""
    event = decode_kuenta_event(envelope.body)
    return make_fact(envelope, event, name=event.event, aggregate_id=event.data.id, occurred_at=event.timestamp)


def route_kuenta(doc: Mapping[str, Any]) -> tuple[str, str]:
    """Ingest's routing: (`event`, `data.id`); the raw record is keyed by `data.id`."""
    name, data = doc.get("event"), doc.get("data")
    if not isinstance(name, str) or not name.strip():
        raise DecodeError("member 'event' is missing or not a non-empty string")
    ident = data.get("id") if isinstance(data, dict) else None
    if isinstance(ident, int) and not isinstance(ident, bool):
        raise DecodeError("data.id must be a string, as in Kuenta's docs (got a number)")
    if not isinstance(ident, str) or not ident.strip():
        raise DecodeError("member 'data.id' is missing or not a non-empty string")
    return name, ident


def identifying_members(data: KuentaData) -> dict[str, Any]:
    """`id` plus any scalar `…Id` / `…_id` member (e.g. a payment's credit): what names the thing."""
    extra = data.model_extra or {}
    related = {
        name: value for name, value in extra.items()
        if (name.endswith("Id") or name.endswith("_id"))
        and isinstance(value, (str, int)) and not isinstance(value, bool)
    }
    return {"id": data.id, **related}
