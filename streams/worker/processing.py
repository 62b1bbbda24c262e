"""The worker's shell around the fold step: load a state from its table's JSON, call
`projections.driver.fold_record` (the one replay calls too), save the new JSON, and say what to
publish.

Kept free of Faust so the worker's fold agent, the tests and bench's Quix baseline share it;
tables are any mutable mapping of aggregate id -> state JSON bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from projections.driver import Dead, fold_record
from projections.history import HISTORY_LIMIT
from projections.registry import Projection
from schemas.deadletter import DeadLetterMeta, encode_dead_letter
from schemas.envelope import Envelope
from schemas.jsondump import plain_json
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
    #: the folded state itself (None for a dead letter): what the console index reads, unparsed
    state: Any = None


#: `Output(...)`/`Outcome(...)` without the NamedTuples' Python-level `__new__` (together about
#: a microsecond per event on the worker's hot path).
_output = functools.partial(tuple.__new__, Output)
_outcome = functools.partial(tuple.__new__, Outcome)


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
    history_limit: int = HISTORY_LIMIT,
) -> Outcome:
    """Load, fold, save. Every event republishes its state and re-derives its alerts, so a
    redelivery after a crash completes whatever the crash interrupted (same keys, same ids).
    `states` spares re-parsing a state the caller parsed or produced before."""
    stored: bytes | None = None

    def load(projection: Projection, key: str) -> Any:
        nonlocal stored
        stored = tables[projection.name].get(key)
        if stored is None:
            return None
        parse = projection.state_type.model_validate_json
        return states.load(projection.name, key, stored, parse) if states is not None else parse(stored)

    result = fold_record(raw, load, history_limit)
    if isinstance(result, Dead):
        return _dead(result.reason, raw, result.envelope, clock(), partition, offset)
    fact, projection, state, changed, alerts = result
    name, key = projection.name, fact.aggregateId
    if changed:
        state_json = plain_json(state)  # pydantic's very bytes, through orjson (schemas/jsondump.py)
        if states is not None:
            states.keep(name, key, state_json, state)
    else:
        assert stored is not None  # the fold returned the state it was given: one was stored
        state_json = stored
    # Saved even when unchanged: after a kill -9, RocksDB can hold a state whose changelog record
    # was never sent; saving it again on the redelivery puts it back in the changelog.
    tables[name][key] = state_json
    outputs = [_output((name, key.encode(), state_json))]
    if alerts:
        outputs.extend(_output(("alerts", a.id.encode(), orjson.dumps(a.model_dump(mode="json")))) for a in alerts)
    return _outcome((outputs, fact.eventName, False, fact.source, fact.deliveryId, key,
                     tuple([a.type for a in alerts]) if alerts else (), state))
