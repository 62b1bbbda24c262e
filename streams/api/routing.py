"""Which worker answers a key: the pure decision (docs/operations.md, "Running many workers").

A key's partition is the one ingest's partitioner gives its raw key (floor/kafka/partitioning.py);
its owner is the member holding that partition as *active* in the group's current assignment.
A worker answers locally only from an active partition once it is ready (not starting,
rebalancing or recovering); it forwards once to the owner's advertised URL otherwise; a request
that was already forwarded is never forwarded again. Whatever cannot be answered now is a
`Refuse` (503 + Retry-After); only `Local` may end in a 404, when the key is not there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

RETRY_AFTER_S = 1  # a rebalance or a takeover is a matter of seconds


@dataclass(frozen=True)
class WorkerView:
    """What one worker knows now: its Faust status, URL, active partitions, the group's owners."""

    status: str  # ready | starting | rebalancing | recovering (streams/kafka/seam/faust_assignor.py)
    url: str
    active: frozenset[int]
    owners: Mapping[int, str]  # partition -> advertised URL of its active owner
    partitions: int

    @property
    def assignment_known(self) -> bool:
        return all(p in self.owners or p in self.active for p in range(self.partitions))

    @property
    def ready(self) -> str:
        """`ready` when this worker can serve or forward any key, else why not."""
        if self.status != "ready":
            return self.status
        return "ready" if self.assignment_known else "owner_unknown"


class Local(NamedTuple):
    """Answer from this worker's own store of `partition` (404 if the key is not there)."""

    partition: int


class Forward(NamedTuple):
    """Ask the owner once, and pass its answer back."""

    url: str
    partition: int


class Refuse(NamedTuple):
    """503 + Retry-After: the answer cannot be given now; `reason` says why."""

    reason: str
    detail: str
    retry_after_s: int = RETRY_AFTER_S


Decision = Local | Forward | Refuse


def route(view: WorkerView, partition: int, *, forwarded: bool) -> Decision:
    """The decision for a key in `partition`; `forwarded`: another worker sent the request."""
    if view.status != "ready":
        return Refuse(view.status, f"this worker ({view.url}) is {view.status}; retry shortly")
    if partition in view.active:
        return Local(partition)
    if forwarded:
        return Refuse("not_owner", f"partition {partition} is not active on {view.url}, which it was "
                      "forwarded to (the assignment is changing); retry shortly")
    owner = view.owners.get(partition)
    if owner is None or owner == view.url:  # owner == own URL but not active: the assignment is changing
        return Refuse("owner_unknown", f"no worker holds partition {partition} as active now; retry shortly")
    return Forward(owner, partition)
