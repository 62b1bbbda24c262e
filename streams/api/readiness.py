"""Whether a worker is caught up enough to answer queries: what `/readyz` reports."""

from __future__ import annotations

from typing import Any


def readiness(app: Any) -> str:
    """`ready`, or what the worker is busy with: `starting`, `rebalancing`, `recovering`."""
    recovery = app.tables.recovery
    if not recovery.completed.is_set():
        return "starting"
    if app.rebalancing:
        return "rebalancing"
    return "recovering" if recovery.in_recovery else "ready"
