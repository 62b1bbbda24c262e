"""The Slack sink against a local aiohttp server (Slack itself is out of reach): incoming-webhook
messages with `text` and one section block per change, changes beyond one a message batched."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from floor.kafka.topics import ensure_topics
from schemas.envelope import utcnow
from floor.settings import Settings
from streams.notify.service import Alerting
from tests.kafka_fixtures import until
from tests.notify_factories import alert, produce_alerts

pytestmark = pytest.mark.kafka


async def test_slack_messages_batch_what_arrives_together(
        make_settings: Callable[..., Settings], receivers: Callable[..., Any]) -> None:
    slack = await receivers("ok", "/services/T000/B000/XXXX")
    settings = make_settings(notify=orjson.dumps([{"type": "slack", "name": "chat", "url": slack.url,
                                                   "severities": ["critical"]}]).decode(),
                             notify_slack_interval_s=1.0, partitions=1)
    await ensure_topics(settings)
    await produce_alerts(settings, [alert(n) for n in range(1, 7)])  # all there before the notifier starts
    alerting = Alerting(settings, CollectorRegistry(), utcnow, fold=True, notify=True)
    task = asyncio.ensure_future(alerting.run())
    try:
        def lines() -> list[str]:
            return [line for _, body in slack.accepted for line in orjson.loads(body)["text"].splitlines()]

        await until(lambda: asyncio.sleep(0, len(lines()) == 6), 60, "six changes posted to Slack")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    messages = [orjson.loads(body) for _, body in slack.accepted]
    assert len(messages) < 6  # batched, not one message per change
    for message in messages:
        assert len(message["blocks"]) == len(message["text"].splitlines())
        assert all(b["type"] == "section" and b["text"]["type"] == "mrkdwn" for b in message["blocks"])
    assert sorted(line.split("`")[1] for line in lines()) == [f"ord-{n}" for n in range(1, 7)]
    assert all(":rotating_light: *order_crypto_tx_failed* (critical) open: koywe" in line for line in lines())
    assert all(headers["Content-Type"] == "application/json" for headers, _ in slack.accepted)
