"""Whether a worker is caught up enough to answer queries: what `/readyz` reports.

Faust's flags are read in streams/kafka/seam/faust_assignor.py; the group's assignment decides the rest
(streams/api/routing.py: a ready worker also knows every partition's owner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.kafka.seam import faust_status
from streams.worker.health import FoldHealth


def readiness(app: Any, health: FoldHealth | None = None) -> str:
    """`ready`, or what the worker is busy with: `starting`, `rebalancing`, `recovering`, or
    `failing` while a batch cannot be folded (its partitions cannot advance: `health.reason`)."""
    if health is not None and health.reason is not None:
        return "failing"
    return faust_status(app)


def readiness_of(health: FoldHealth) -> Callable[[Any], str]:
    """`readiness` with this worker's fold health, for those that take a `readiness(app)`."""
    return lambda app: readiness(app, health)
