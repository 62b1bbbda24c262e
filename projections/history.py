"""Order-aware, idempotent bookkeeping every fold shares.

A projection's status is a function of the *set* of distinct events it has seen, never of their
arrival order: that is what makes folds idempotent, permutation-proof, and replay-equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from schemas.history import Fact, HistoryEntry


def entry_for(fact: Fact, status: str, *, final: bool) -> HistoryEntry:
    return HistoryEntry(
        eventId=fact.eventId, eventName=fact.eventName, occurredAt=fact.occurredAt,
        receivedAt=fact.receivedAt, deliveryId=fact.deliveryId, status=status, final=final,
    )


def seen(history: Sequence[HistoryEntry], event_id: str) -> bool:
    return any(entry.eventId == event_id for entry in history)


def insert(
    history: Sequence[HistoryEntry], entry: HistoryEntry, rank: Callable[[str], int]
) -> tuple[HistoryEntry, ...]:
    """History stays sorted by (event time, status rank, event id): a late event lands in place."""
    return tuple(sorted((*history, entry), key=lambda e: (e.occurredAt, rank(e.status), e.eventId)))


def effective(history: Sequence[HistoryEntry]) -> HistoryEntry:
    """The entry that decides the status: the latest final one if any, else the latest one.

    Final events (delivered, rejected for good) end the aggregate; a stray later event is kept in
    the history but cannot reopen it. Non-final events (a failed crypto tx Koywe will retry)
    yield to anything later. `history` must be sorted by `insert`.
    """
    finals = [entry for entry in history if entry.final]
    return (finals or history)[-1]


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
