"""The Alertmanager sink against Debian's real Alertmanager: an open alert shows in its
`GET /api/v2/alerts` with hooklog's labels and keeps firing while re-sent; a resolved one ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry

from floor.kafka.topics import ensure_topics
from schemas.envelope import utcnow
from floor.settings import Settings
from schemas.times import parse_time
from streams.notify.service import Alerting
from tests.kafka_fixtures import until
from tests.notify_factories import alert, produce_alerts

pytestmark = pytest.mark.kafka


async def am_alerts(url: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/api/v2/alerts") as response:
        assert response.status == 200
        return await response.json()


def mine(found: list[dict[str, Any]], alert_id: str) -> dict[str, Any] | None:
    return next((a for a in found if a["labels"].get("alert_id") == alert_id), None)


async def test_open_shows_resend_keeps_it_firing_resolve_ends_it(
        make_settings: Callable[..., Settings], alertmanager: str) -> None:
    settings = make_settings(notify=orjson.dumps([{"type": "alertmanager", "name": "am", "url": alertmanager}]).decode(),
                             notify_alertmanager_resend_s=1.0, notify_backoff_s=0.05)
    await ensure_topics(settings)
    alerting = Alerting(settings, CollectorRegistry(), utcnow, fold=True, notify=True)
    task = asyncio.ensure_future(alerting.run())
    one, two = alert(1), alert(2)
    try:
        await produce_alerts(settings, [one, two])

        async def both_firing() -> list[dict[str, Any]] | None:
            found = await am_alerts(alertmanager)
            shown = [mine(found, one.id), mine(found, two.id)]
            return shown if all(a and a["status"]["state"] == "active" for a in shown) else None  # type: ignore[index]

        shown = await until(both_firing, 60, "both alerts active in Alertmanager")
        labels = shown[0]["labels"]
        assert labels == {"alertname": "order_crypto_tx_failed", "severity": "critical", "source": "koywe",
                          "aggregate_id": "ord-1", "alert_id": one.id}
        assert parse_time(shown[0]["startsAt"]) == datetime(2026, 3, 20, 10, 1, tzinfo=UTC)
        first_end = parse_time(shown[0]["endsAt"])

        async def extended() -> bool:  # re-sent at the cadence: its end moves on
            found = mine(await am_alerts(alertmanager), one.id)
            return found is not None and parse_time(found["endsAt"]) > first_end

        await until(extended, 30, "the re-send moving endsAt on")

        await alerting.desk.act(one.id, "resolve", {"reason": "fixed"}, by="ops")

        async def ended() -> bool:
            found = mine(await am_alerts(alertmanager), one.id)
            return found is None or parse_time(found["endsAt"]) <= datetime.now(UTC)

        await until(ended, 30, "the resolved alert ended in Alertmanager")
        still = mine(await am_alerts(alertmanager), two.id)
        assert still is not None and still["status"]["state"] == "active"
        assert alerting.metrics.sinks["am"].delivered >= 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
