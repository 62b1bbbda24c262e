"""One raw record in, the records to publish out: load state, call the pure fold, save state.

Kept free of Faust so the agent, the batch replay and the tests share it; tables are any
mutable mapping of aggregate id -> state JSON bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime
from typing import NamedTuple

import orjson

from projections.registry import projection_for
from schemas.deadletter import DeadLetterMeta, encode_dead_letter
from schemas.decoding import decode_fact
from schemas.envelope import Envelope, decode_envelope
from schemas.errors import DecodeError, EnvelopeError

Tables = Mapping[str, MutableMapping[str, bytes]]


class Output(NamedTuple):
    """A record to publish: `topic` is a logical name (`orders`, `alerts`, `dlq`)."""

    topic: str
    key: bytes
    value: bytes


class Outcome(NamedTuple):
    outputs: list[Output]
    event_name: str | None
    dead: bool


def _dead(reason: str, raw: bytes, envelope: Envelope | None, now: datetime,
          partition: int | None, offset: int | None) -> Outcome:
    meta = DeadLetterMeta(
        reason=reason, deadAt=now, rawPartition=partition, rawOffset=offset,
        source=envelope.source if envelope else None, deliveryId=envelope.id if envelope else None,
        aggregateId=envelope.key if envelope else None, eventName=envelope.event_name if envelope else None,
    )
    key = (envelope.id if envelope else f"{partition}-{offset}").encode()
    return Outcome([Output("dlq", key, encode_dead_letter(meta, raw))], meta.eventName, True)


def process_record(
    raw: bytes, tables: Tables, clock: Callable[[], datetime],
    partition: int | None = None, offset: int | None = None,
) -> Outcome:
    """Decode, fold, save. Every event republishes its state and re-derives its alerts, so a
    redelivery after a crash completes whatever the crash interrupted (same keys, same ids)."""
    envelope: Envelope | None = None
    try:
        envelope = decode_envelope(raw)
        fact = decode_fact(envelope)
        projection = projection_for(fact)
    except (EnvelopeError, DecodeError) as exc:
        return _dead(str(exc), raw, envelope, clock(), partition, offset)
    table = tables[projection.name]
    stored = table.get(fact.aggregateId)
    state = projection.state_type.model_validate_json(stored) if stored is not None else None
    new_state, alerts = projection.fold(state, fact)
    state_json = new_state.model_dump_json().encode() if new_state is not state else stored
    assert state_json is not None
    # Saved even when unchanged: after a kill -9, RocksDB can hold a state whose changelog record
    # was never sent; saving it again on the redelivery puts it back in the changelog.
    table[fact.aggregateId] = state_json
    outputs = [Output(projection.name, fact.aggregateId.encode(), state_json)]
    outputs.extend(Output("alerts", a.id.encode(), orjson.dumps(a.model_dump(mode="json"))) for a in alerts)
    return Outcome(outputs, fact.eventName, False)
