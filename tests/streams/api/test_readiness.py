"""The worker's /readyz verdict from Faust's recovery and rebalance flags (no broker needed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from streams.api.readiness import readiness

pytestmark = pytest.mark.unit


def app(*, recovered: bool, rebalancing: bool = False, in_recovery: bool = False) -> SimpleNamespace:
    completed = asyncio.Event()
    if recovered:
        completed.set()
    recovery = SimpleNamespace(completed=completed, in_recovery=in_recovery)
    return SimpleNamespace(tables=SimpleNamespace(recovery=recovery), rebalancing=rebalancing)


def test_ready_only_after_the_first_recovery_and_outside_rebalances() -> None:
    assert readiness(app(recovered=False)) == "starting"
    assert readiness(app(recovered=True, rebalancing=True)) == "rebalancing"
    assert readiness(app(recovered=True, in_recovery=True)) == "recovering"
    assert readiness(app(recovered=True)) == "ready"
