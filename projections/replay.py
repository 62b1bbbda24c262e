"""Rebuild every projection from raw records with the live worker's folds: live == replay."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from projections.registry import projection_for
from schemas.alerts import Alert
from schemas.decoding import decode_fact
from schemas.envelope import Envelope
from schemas.errors import DecodeError


@dataclass
class DeadLetter:
    """A record no fold could take, with the reason; it never touches an aggregate."""

    envelope: Envelope
    reason: str


@dataclass
class Rebuilt:
    """Every projection's states by aggregate id, alerts by id, and the dead letters."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    events: int = 0


def apply_envelope(rebuilt: Rebuilt, envelope: Envelope) -> None:
    """Fold one record into `rebuilt` (the loop body of replay, exposed for batching)."""
    rebuilt.events += 1
    try:
        fact = decode_fact(envelope)
        projection = projection_for(fact)
    except DecodeError as exc:
        rebuilt.dead_letters.append(DeadLetter(envelope, str(exc)))
        return
    table = rebuilt.states.setdefault(projection.name, {})
    state, alerts = projection.fold(table.get(fact.aggregateId), fact)
    table[fact.aggregateId] = state
    for alert in alerts:
        rebuilt.alerts.setdefault(alert.id, alert)


def rebuild(envelopes: Iterable[Envelope]) -> Rebuilt:
    rebuilt = Rebuilt()
    for envelope in envelopes:
        apply_envelope(rebuilt, envelope)
    return rebuilt
