"""`hooklog timeline` (streams/ops/timeline.py): past HOOKLOG_HISTORY_LIMIT the stored state
counts what it left out, and the timeline folds the aggregate's whole history from the raw log,
with the same status; a key the log does not hold, or a projection that does not exist, is said so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
import pytest

from hooklog.dev.simulate import Delivery, koywe_payload, signed_body
from streams.ops.timeline import full_state
from tests.kafka_fixtures import SECRET, System, api_headers, get, hooklog, until

pytestmark = pytest.mark.kafka
T0 = datetime(2026, 3, 20, 10, tzinfo=UTC)


def retries(order_id: str, count: int) -> list[Delivery]:
    """An order created, then `count` failed crypto transactions (each retry its own event)."""
    names = ["payment_created"] + ["crypto_tx_failed"] * count
    return [Delivery(order_id, name, signed_body(koywe_payload(name, order_id, T0 + timedelta(seconds=i)), SECRET))
            for i, name in enumerate(names)]


async def test_the_timeline_has_every_event_the_bounded_state_left_out(run_system: Callable[..., System]) -> None:
    system = run_system(history_limit=10)
    await system.send([*retries("ord-long", 24), *retries("ord-other", 2)])
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        async def stored() -> dict | None:
            status, body, _ = await get(session, f"{system.worker_url}/orders/ord-long")
            state = orjson.loads(body) if status == 200 else {}
            return state if len(state.get("history", ())) + state.get("historyOmitted", 0) == 25 else None

        live = await until(stored, 90, "the long order folded")
    assert len(live["history"]) == 10 and live["historyOmitted"] == 15

    full = await full_state(system.settings, "orders", "ord-long")
    assert full is not None and len(full.history) == 25 and full.historyOmitted == 0
    assert full.state == live["state"] and [e.eventName for e in full.history] == [d.event_name for d in retries("ord-long", 24)]

    printed = hooklog(system.settings, "timeline", "orders", "ord-long")
    assert printed.returncode == 0, printed.stderr
    assert len(orjson.loads(printed.stdout)["history"]) == 25
    absent = hooklog(system.settings, "timeline", "orders", "ord-never")
    assert absent.returncode == 1 and "holds no orders event of 'ord-never'" in absent.stderr
    wrong = hooklog(system.settings, "timeline", "ordres", "ord-long")
    assert wrong.returncode != 0 and "no projection 'ordres'" in wrong.stderr and "orders" in wrong.stderr
