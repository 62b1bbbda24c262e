"""Whether a worker is caught up enough to answer queries: what `/readyz` reports.

Faust's flags are read in streams/kafka/seam/faust_assignor.py; the group's assignment decides the rest
(streams/api/routing.py: a ready worker also knows every partition's owner). A worker that has not
heard from its group coordinator within the session timeout is `cut_off`: the broker may have
handed its partitions to others by then (streams/worker/health.py `GroupContact`), so it no longer
claims any key and answers 503 until it is a member again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.kafka.seam import faust_status
from streams.worker.health import FoldHealth, GroupContact


def readiness(app: Any, health: FoldHealth | None = None, contact: GroupContact | None = None) -> str:
    """`ready`, or what the worker is busy with: `starting`, `rebalancing`, `recovering`,
    `failing` while a batch cannot be folded (its partitions cannot advance: `health.reason`), or
    `cut_off` when `contact` says the coordinator has not answered within the session timeout."""
    if health is not None and health.reason is not None:
        return "failing"
    status = faust_status(app)
    if status == "ready" and contact is not None and contact.cut_off:
        return "cut_off"
    return status


def readiness_of(health: FoldHealth, contact: GroupContact | None = None) -> Callable[[Any], str]:
    """`readiness` with this worker's fold health and group contact, for those that take a `readiness(app)`."""
    return lambda app: readiness(app, health, contact)
