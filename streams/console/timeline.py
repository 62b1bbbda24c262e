"""An aggregate's timeline: one row per raw record (delivery) of it, marked late or twice. Pure.

The state's history holds each distinct event once; the raw records hold every delivery. A row
is *twice* when an earlier record carried the same provider event (same event id) under another
delivery id, and *late* when it arrived after a record of a later provider time. History
entries with no raw record read (the bounded read stopped, or the broker could not be read) still
get a row, without a body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas.decoding import decode_fact
from schemas.envelope import decode_envelope
from schemas.errors import DecodeError, EnvelopeError
from schemas.history import HistoryEntry


@dataclass(frozen=True)
class RawEvent:
    """One raw record of the aggregate, decoded as far as it goes."""

    offset: int
    source: str
    delivery_id: str
    received_at: datetime
    event_name: str
    event_id: str | None
    occurred_at: datetime | None
    body: str
    problem: str | None = None


@dataclass(frozen=True)
class Row:
    provider_time: datetime | None
    received_at: datetime
    event_name: str
    delivery_id: str
    status: str | None
    late: bool
    twice: bool
    body: str | None
    offset: int | None
    problem: str | None = None


def body_text(raw: bytes) -> str:
    """The body as received, as text (undecodable bytes shown as U+FFFD)."""
    return raw.decode("utf-8", errors="replace")


def raw_event(value: bytes, offset: int) -> RawEvent | None:
    """A raw record's identity and body, or None when it is not a hooklog envelope at all."""
    try:
        envelope = decode_envelope(value)
    except EnvelopeError:
        return None
    try:
        fact = decode_fact(envelope)
    except DecodeError as exc:
        return RawEvent(offset, envelope.source, envelope.id, envelope.received_at, envelope.event_name, None, None,
                        body_text(envelope.body), str(exc))
    return RawEvent(offset, envelope.source, envelope.id, envelope.received_at, fact.eventName, fact.eventId, fact.occurredAt,
                    body_text(envelope.body))


def timeline(history: Sequence[HistoryEntry], raws: Iterable[RawEvent]) -> list[Row]:
    """Rows in arrival order (raw offset order); history entries without a raw record last."""
    status = {h.eventId: h.status for h in history}
    rows: list[Row] = []
    seen: set[str] = set()
    delivered: set[str] = set()
    latest: datetime | None = None
    for raw in sorted(raws, key=lambda r: r.offset):
        twice = raw.event_id is not None and raw.event_id in seen
        late = raw.occurred_at is not None and latest is not None and raw.occurred_at < latest and not twice
        if raw.event_id is not None:
            seen.add(raw.event_id)
        if raw.occurred_at is not None and (latest is None or raw.occurred_at > latest):
            latest = raw.occurred_at
        delivered.add(raw.delivery_id)
        rows.append(Row(raw.occurred_at, raw.received_at, raw.event_name, raw.delivery_id,
                        status.get(raw.event_id or ""), late, twice, raw.body, raw.offset, raw.problem))
    for entry in history:
        if entry.eventId not in seen and entry.deliveryId not in delivered:
            rows.append(Row(entry.occurredAt, entry.receivedAt, entry.eventName, entry.deliveryId, entry.status,
                            False, False, None, None, "raw record not read"))
    return rows


def first_received(history: Sequence[HistoryEntry]) -> datetime | None:
    return min((h.receivedAt for h in history), default=None)
