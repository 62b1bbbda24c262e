"""Whether a worker is caught up enough to answer queries: what `/readyz` reports.

Faust's flags are read in streams/kafka/seam/faust_assignor.py; the group's assignment decides the rest
(streams/api/routing.py: a ready worker also knows every partition's owner).
"""

from __future__ import annotations

from typing import Any

from streams.kafka.seam import faust_status


def readiness(app: Any) -> str:
    """`ready`, or what the worker is busy with: `starting`, `rebalancing`, `recovering`."""
    return faust_status(app)
