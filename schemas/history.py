"""What every projection records of an event, and the decoded event the folds take."""

from __future__ import annotations

from hashlib import sha256
from datetime import datetime
from typing import TYPE_CHECKING

import orjson
from pydantic import BaseModel

from schemas.base import Frozen
from schemas.times import as_utc
from schemas.trusted import trusted

if TYPE_CHECKING:
    from schemas.envelope import Envelope


#: How many history entries a state keeps by default (HOOKLOG_HISTORY_LIMIT): a state is one
#: Kafka record, and an entry is ~250 bytes of JSON, so 1,000 stay far below the 1 MiB that
#: brokers and producers accept by default whatever an aggregate's history (issue: one order
#: with ~4,300 events passed it and took its batch's neighbours down).
HISTORY_LIMIT = 1000

#: The bytes one history entry is counted at when a limit is checked against a topic's
#: `max.message.bytes` (an entry of the built-in sources is ~250 bytes; this leaves room for
#: long event names and delivery ids).
ENTRY_BYTES = 512


class EventRef(Frozen):
    """Which provider event, when it happened, and which delivery brought it: what a Fact
    carries and every history entry keeps of it."""

    eventId: str
    eventName: str
    occurredAt: datetime
    receivedAt: datetime
    deliveryId: str


class HistoryEntry(EventRef):
    """One distinct event applied to an aggregate (repeats are not added twice)."""

    status: str
    final: bool = False


class ProjectionState(Frozen):
    """Base of every projection's state (published on its topic and answered by its GET).

    Each state has, in this order, the members that name the aggregate and its status, then
    `updatedAt` (the time of the event that decides the status) and `history` (every distinct
    event applied, sorted as `projections.history.insert` keeps it), then its own members. The
    shared two are declared by each state, not here, because pydantic puts a base's fields
    first: that would reorder the published JSON and the exported schemas' `required` lists.
    """

def event_id(source: str, event_name: str, aggregate_id: str, occurred_at: str | None, body: bytes) -> str:
    """Identity of a provider event, the same for every redelivery of it.

    Providers send no event id, so it is (source, name, aggregate, the provider's own timestamp
    text); without a timestamp, the body bytes stand in. The parts are NUL-joined UTF-8: joining
    the text first and encoding once gives the same bytes for less work.
    """
    if occurred_at:
        return sha256(f"{source}\x00{event_name}\x00{aggregate_id}\x00{occurred_at}".encode()).hexdigest()[:32]
    head = f"{source}\x00{event_name}\x00{aggregate_id}\x00".encode()
    return sha256(head + sha256(body).digest()).hexdigest()[:32]


def iso_utc(stamp: datetime) -> str:
    """`stamp.isoformat()` for a UTC datetime (`as_utc`'s), written by orjson: the same text
    (an event id hashes it, so it must never change; tests/schemas/test_history.py checks it
    over every year) for a third of isoformat's cost, once per event."""
    return orjson.dumps(stamp)[1:-1].decode()


class Fact(EventRef):
    """A decoded provider event with the identity and times the folds need."""

    source: str
    aggregateId: str
    event: BaseModel


def provider_event_key(source: str, provider_event_id: str) -> str:
    """Identity of an event whose provider names it (Koywe's Payments API sends an `id`): every
    redelivery of that id is the same event, whatever its type, time or body say."""
    return sha256(f"{source}\x00id\x00{provider_event_id}".encode()).hexdigest()[:32]


def make_fact(envelope: Envelope, event: BaseModel, *, name: str, aggregate_id: str,
              occurred_at: datetime | None, provider_event_id: str | None = None) -> Fact:
    """Identity and times of a decoded event (every source's decoder ends here). Its parts are
    a validated envelope and event and the names read from them, so the Fact is `trusted`.
    `provider_event_id`: the provider's own event id, when it sends one (it is then the identity)."""
    stamp = as_utc(occurred_at) if occurred_at else None
    ident = (provider_event_key(envelope.source, provider_event_id) if provider_event_id is not None
             else event_id(envelope.source, name, aggregate_id, iso_utc(stamp) if stamp else None, envelope.body))
    return trusted(Fact, {  # in declaration order: EventRef's members, then Fact's own
        "eventId": ident,
        "eventName": name, "occurredAt": stamp or envelope.received_at, "receivedAt": envelope.received_at,
        "deliveryId": envelope.id, "source": envelope.source, "aggregateId": aggregate_id, "event": event,
    })
