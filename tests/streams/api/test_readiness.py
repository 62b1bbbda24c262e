"""The worker's /readyz verdict from a real `faust.App`'s recovery and rebalance state (no broker
needed: the app is built, not started, and moved through the states Faust itself sets)."""

from __future__ import annotations

import faust
import pytest

from streams.api.readiness import readiness

pytestmark = pytest.mark.unit


async def test_ready_only_after_the_first_recovery_and_outside_rebalances() -> None:
    app = faust.App("hooklog-readiness-test", broker="kafka://127.0.0.1:9", store="memory://",
                    autodiscover=False, web_enabled=False)
    recovery = app.tables.recovery
    assert readiness(app) == "starting"  # no recovery has completed yet

    recovery.completed.set()  # what Recovery does once the first recovery is done
    assert readiness(app) == "ready"

    app.on_rebalance_start()
    assert readiness(app) == "rebalancing"
    app.on_rebalance_end()
    assert readiness(app) == "ready"

    recovery.in_recovery = True  # what Recovery sets while it restores tables after a rebalance
    assert readiness(app) == "recovering"
    recovery.in_recovery = False
    assert readiness(app) == "ready"
