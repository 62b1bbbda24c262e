"""The worker's /readyz verdict from a real `faust.App`'s recovery and rebalance state (no broker
needed: the app is built, not started, and moved through the states Faust itself sets)."""

from __future__ import annotations

import faust
import pytest

from streams.api.readiness import readiness
from streams.worker.health import GroupContact
from tests.conftest import ManualClock

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


async def test_cut_off_once_the_coordinator_was_silent_for_the_session_timeout(manual_clock: ManualClock) -> None:
    app = faust.App("hooklog-readiness-contact", broker="kafka://127.0.0.1:9", store="memory://",
                    autodiscover=False, web_enabled=False)
    app.tables.recovery.completed.set()
    heard: dict[str, float] = {}
    contact = GroupContact("g", 10.0, heard.get, manual_clock)
    assert readiness(app, contact=contact) == "cut_off" and "never" in (contact.reason or "")  # never a member

    heard["g"] = manual_clock()  # a heartbeat answered
    manual_clock.advance(9.9)
    assert readiness(app, contact=contact) == "ready" and contact.reason is None
    manual_clock.advance(0.1)  # the broker may have expired the member from now on
    assert readiness(app, contact=contact) == "cut_off"
    assert "not for 10.0 s (session timeout 10 s)" in (contact.reason or "")

    heard["g"] = manual_clock()  # rejoined
    assert readiness(app, contact=contact) == "ready"
    app.on_rebalance_start()  # Faust's own states come first
    assert readiness(app, contact=contact) == "rebalancing"
