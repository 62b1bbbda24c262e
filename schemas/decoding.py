"""Raw envelope -> typed `Fact`, per source. Anything undecodable raises DecodeError (-> DLQ)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from schemas.envelope import Envelope
from schemas.errors import DecodeError, UnknownEventError
from schemas.history import Fact, event_id
from schemas.koywe import decode_order_event


def _utc(moment: datetime) -> datetime:
    """Provider times without a zone are taken as UTC, so every comparison is well defined."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _koywe(envelope: Envelope) -> Fact:
    event = decode_order_event(envelope.body)
    stamp = _utc(event.timeStamp) if event.timeStamp else None
    return Fact(
        source=envelope.source, aggregateId=event.orderId, eventName=event.eventName,
        eventId=event_id(envelope.source, event.eventName, event.orderId,
                         stamp.isoformat() if stamp else None, envelope.body),
        occurredAt=stamp or envelope.received_at, receivedAt=envelope.received_at,
        deliveryId=envelope.id, event=event,
    )


DECODERS: dict[str, Callable[[Envelope], Fact]] = {"koywe": _koywe}


def decode_fact(envelope: Envelope) -> Fact:
    """Decode one raw record; its key must be the aggregate id the body names."""
    decoder = DECODERS.get(envelope.source)
    if decoder is None:
        raise UnknownEventError(f"no decoder for source {envelope.source!r}")
    fact = decoder(envelope)
    if fact.aggregateId != envelope.key:
        raise DecodeError(
            f"record key {envelope.key!r} differs from the aggregate id {fact.aggregateId!r} in the body"
        )
    return fact
