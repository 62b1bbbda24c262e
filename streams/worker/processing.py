"""One raw record in, the records to publish out: load state, call the pure fold, save state.

Kept free of Faust so the worker's fold agent, the tests and bench's Quix baseline share it;
tables are any mutable mapping of aggregate id -> state JSON bytes. Replay does not call it: it
folds into state objects with `projections.replay.apply_envelope` (the same `decode_fact`,
`projection_for` and folds), and tests/streams/replay checks the two agree byte for byte.
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
from streams.worker.batch import StateCache

Tables = Mapping[str, MutableMapping[str, bytes]]


class Output(NamedTuple):
    """A record to publish: `topic` is a logical name (`orders`, `alerts`, `dlq`)."""

    topic: str
    key: bytes
    value: bytes


class Outcome(NamedTuple):
    """What one record led to, with the envelope's identity for metrics and logs."""

    outputs: list[Output]
    event_name: str | None
    dead: bool
    source: str | None = None
    delivery_id: str | None = None
    aggregate_id: str | None = None
    alert_types: tuple[str, ...] = ()


def _dead(reason: str, raw: bytes, envelope: Envelope | None, now: datetime,
          partition: int | None, offset: int | None) -> Outcome:
    meta = DeadLetterMeta(
        reason=reason, deadAt=now, rawPartition=partition, rawOffset=offset,
        source=envelope.source if envelope else None, deliveryId=envelope.id if envelope else None,
        aggregateId=envelope.key if envelope else None, eventName=envelope.event_name if envelope else None,
    )
    key = (envelope.id if envelope else f"{partition}-{offset}").encode()
    return Outcome([Output("dlq", key, encode_dead_letter(meta, raw))], meta.eventName, True,
                   meta.source, meta.deliveryId, meta.aggregateId)


def process_record(
    raw: bytes, tables: Tables, clock: Callable[[], datetime],
    partition: int | None = None, offset: int | None = None, states: StateCache | None = None,
) -> Outcome:
    """Decode, fold, save. Every event republishes its state and re-derives its alerts, so a
    redelivery after a crash completes whatever the crash interrupted (same keys, same ids).
    `states` spares re-parsing a state the caller parsed or produced before."""
    envelope: Envelope | None = None
    try:
        envelope = decode_envelope(raw)
        fact = decode_fact(envelope)
        projection = projection_for(fact)
    except (EnvelopeError, DecodeError) as exc:
        return _dead(str(exc), raw, envelope, clock(), partition, offset)
    table = tables[projection.name]
    key = fact.aggregateId
    stored = table.get(key)
    parse = projection.state_type.model_validate_json
    if states is not None:
        state = states.load(projection.name, key, stored, parse)
    else:
        state = parse(stored) if stored is not None else None
    new_state, alerts = projection.fold(state, fact)
    state_json = new_state.model_dump_json().encode() if new_state is not state else stored
    assert state_json is not None
    if states is not None and new_state is not state:
        states.keep(projection.name, key, state_json, new_state)
    # Saved even when unchanged: after a kill -9, RocksDB can hold a state whose changelog record
    # was never sent; saving it again on the redelivery puts it back in the changelog.
    table[key] = state_json
    outputs = [Output(projection.name, key.encode(), state_json)]
    outputs.extend(Output("alerts", a.id.encode(), orjson.dumps(a.model_dump(mode="json"))) for a in alerts)
    return Outcome(outputs, fact.eventName, False, fact.source, fact.deliveryId, key, tuple(a.type for a in alerts))
