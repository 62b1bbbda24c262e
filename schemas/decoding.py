"""Raw envelope -> typed `Fact`, per source. Anything undecodable raises DecodeError (-> DLQ).

`route_*` find (event name, aggregate id) in a parsed body: ingest keys the raw record with it,
so that every event of one aggregate lands in one partition, and the decoders check the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from schemas.envelope import Envelope
from schemas.errors import DecodeError
from schemas.history import Fact, make_fact
from schemas.koywe import ORDER_EVENT_NAMES, decode_order_event
from schemas.koywe_users import USER_EVENTS, decode_user_event, user_id_of
from schemas.generic import decode_generic_fact
from schemas.koywe_payments import SOURCE as KOYWE_PAYMENTS, decode_koywe_payments_fact
from schemas.kuenta import decode_kuenta_fact


def required_text(doc: Mapping[str, Any], member: str) -> str:
    value = doc.get(member)
    if not isinstance(value, str) or not value.strip():
        raise DecodeError(f"member {member!r} is missing or not a non-empty string")
    return value


def route_koywe(doc: Mapping[str, Any]) -> tuple[str, str]:
    """Order events key by `orderId`, user events by the user; an unknown event keeps whichever
    id it has (the worker dead-letters it, with the reason)."""
    name = required_text(doc, "eventName")
    if name in ORDER_EVENT_NAMES:
        return name, required_text(doc, "orderId")
    user = user_id_of(dict(doc))
    if name in USER_EVENTS:
        if user is None:
            raise DecodeError(f"{name} names no user (email, userId, accountId or customerId)")
        return name, user
    order = doc.get("orderId")
    key = order if isinstance(order, str) and order.strip() else user
    if key is None:
        raise DecodeError(f"event {name!r} carries neither an orderId nor a user id")
    return name, key


def _koywe(envelope: Envelope) -> Fact:
    if envelope.event_name in USER_EVENTS:
        user_event = decode_user_event(envelope.body)
        return make_fact(envelope, user_event, name=user_event.eventName, aggregate_id=user_event.userId,
                         occurred_at=user_event.timeStamp)
    order_event = decode_order_event(envelope.body)
    return make_fact(envelope, order_event, name=order_event.eventName, aggregate_id=order_event.orderId,
                     occurred_at=order_event.timeStamp)


DECODERS: dict[str, Callable[[Envelope], Fact]] = {
    "koywe": _koywe, "kuenta": decode_kuenta_fact, KOYWE_PAYMENTS: decode_koywe_payments_fact,
}


def decode_fact(envelope: Envelope) -> Fact:
    """Decode one raw record; its key must be the aggregate id the body names. Sources other
    than the built-in ones were configured at ingest, which put name, key and time in the envelope."""
    fact = DECODERS.get(envelope.source, decode_generic_fact)(envelope)
    if fact.aggregateId != envelope.key:
        raise DecodeError(
            f"record key {envelope.key!r} differs from the aggregate id {fact.aggregateId!r} in the body"
        )
    return fact
