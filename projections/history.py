"""Order-aware, idempotent bookkeeping every fold shares.

A projection's status is a function of the *set* of distinct events it has seen, never of their
arrival order: that is what makes folds idempotent, permutation-proof, and replay-equal.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from schemas.history import HISTORY_LIMIT, Fact, HistoryEntry, ProjectionState
from schemas.trusted import trusted



def entry_for(fact: Fact, status: str, *, final: bool) -> HistoryEntry:
    """Every part comes from a validated Fact, so the entry is not validated again; `str()`
    stores a status enum as the plain text validation would."""
    return trusted(HistoryEntry, {
        "eventId": fact.eventId, "eventName": fact.eventName, "occurredAt": fact.occurredAt,
        "receivedAt": fact.receivedAt, "deliveryId": fact.deliveryId, "status": str(status), "final": final,
    })


def seen(history: Sequence[HistoryEntry], event_id: str) -> bool:
    for entry in history:  # a plain loop: histories are short, and this runs on every event
        if entry.eventId == event_id:
            return True
    return False


def insert(
    history: Sequence[HistoryEntry], entry: HistoryEntry, rank: Callable[[str], int]
) -> tuple[HistoryEntry, ...]:
    """History stays sorted by (event time, status rank, event id): a late event lands in place.

    `history` is sorted already (every history is built here), so the entry is placed by
    bisection after any equal key, exactly where a stable sort of `(*history, entry)` puts it;
    an event later than all others (the usual case) is appended after one comparison.
    """
    def key(e: HistoryEntry) -> tuple[datetime, int, str]:
        return e.occurredAt, rank(e.status), e.eventId

    at = key(entry)
    if not history or key(history[-1]) <= at:
        return (*history, entry)
    index = bisect_right(history, at, key=key)
    return (*history[:index], entry, *history[index:])


def effective(history: Sequence[HistoryEntry]) -> HistoryEntry:
    """The entry that decides the status: the latest final one if any, else the latest one.

    Final events (delivered, rejected for good) end the aggregate; a stray later event is kept in
    the history but cannot reopen it. Non-final events (a failed crypto tx Koywe will retry)
    yield to anything later. `history` must be sorted by `insert`.
    """
    for entry in reversed(history):
        if entry.final:
            return entry
    return history[-1]


def advance(
    history: Sequence[HistoryEntry], fact: Fact, status: str, *, final: bool, rank: Callable[[str], int]
) -> tuple[tuple[HistoryEntry, ...], HistoryEntry] | None:
    """The history with `fact` in place and the entry that now decides the status, or None when
    the fact was applied before (a repeat changes nothing). Every fold's common step."""
    if seen(history, fact.eventId):
        return None
    grown = insert(history, entry_for(fact, status, final=final), rank)
    return grown, effective(grown)


def is_later(history: Sequence[HistoryEntry], event_id: str, than: str) -> bool:
    """Does `event_id` stand after `than` in the (time-ordered) history? Decides which of two
    events' values is current, whatever order they arrived in."""
    order = [entry.eventId for entry in history]
    return order.index(event_id) > order.index(than)


def later(history: Sequence[HistoryEntry], new: str | None, than: str | None) -> bool:
    """Does the value event `new` brought replace the one event `than` brought? (None: no value.)
    The later event in the history wins, whatever order the two arrived in."""
    if new is None:
        return False
    return than is None or is_later(history, new, than)


def bound_history(state: ProjectionState, limit: int, pinned: Collection[str] = ()) -> ProjectionState:
    """`state` with at most `limit` history entries: the first tenth (how the aggregate began),
    every entry a status or value still rests on (the latest final one, the `pinned` event
    ids), and the latest ones; `historyOmitted` counts the entries left out. The raw log keeps
    every event (`hooklog timeline` folds them from there, streams/ops/timeline.py).

    The status stays exact past the limit: `effective` only ever needs the latest final entry
    and the latest entry, and both are kept. What is lost is the exact set of the middle: a
    redelivery of an event left out can no longer be told apart and is counted again. A state's
    `digests` (event id -> body digest) keeps the kept entries' only, so it stays bounded too."""
    history = state.history  # type: ignore[attr-defined]
    if len(history) <= limit:
        return state
    head = max(1, limit // 10)
    keep = set(range(head))
    last_final = next((i for i in range(len(history) - 1, -1, -1) if history[i].final), None)
    if last_final is not None:
        keep.add(last_final)
    if pinned:
        keep.update(i for i, entry in enumerate(history) if entry.eventId in pinned)
    for index in range(len(history) - 1, -1, -1):  # then the latest entries, up to the limit
        if len(keep) >= limit:
            break
        keep.add(index)
    kept = tuple(history[i] for i in sorted(keep))
    fields = dict(state.__dict__)
    fields["history"] = kept
    if isinstance(fields.get("digests"), dict):  # Koywe Payments: a digest per event id, as bounded as the history
        ids = {entry.eventId for entry in kept}
        fields["digests"] = {ident: digest for ident, digest in fields["digests"].items() if ident in ids}
    fields["historyOmitted"] = state.historyOmitted + len(history) - len(kept)  # type: ignore[attr-defined]
    return trusted(type(state), fields)
