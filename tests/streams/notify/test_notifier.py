"""The notifiers against real HTTP endpoints and the real broker: Standard Webhooks signatures
(checked with the `standardwebhooks` library), a sink that answers 500 and one that hangs are
retried and dead-lettered without delaying the others, a redrive resends the same ids, and a
notifier stopped before its sink accepted re-sends on restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from floor.kafka.topics import ensure_topics
from schemas.lifecycle import AlertAction
from schemas.envelope import utcnow
from floor.settings import Settings
from streams.notify.redrive import redrive_notifications
from streams.notify.service import Alerting
from tests.kafka_fixtures import Receiver, read_topic, samples, until
from tests.notify_factories import alert, produce_alerts, verified, webhook

pytestmark = pytest.mark.kafka


def fast(make_settings: Callable[..., Settings], sinks: list[dict[str, str]], **extra: Any) -> Settings:
    return make_settings(notify=orjson.dumps(sinks).decode(), notify_attempts=3, notify_backoff_s=0.01,
                         notify_backoff_max_s=0.05, notify_timeout_s=0.5, **extra)


async def test_signed_deliveries_and_sinks_that_fail_or_hang_alone(
        make_settings: Callable[..., Settings], receivers: Callable[..., Any]) -> None:
    good, failing, hanging = await receivers("ok"), await receivers("fail"), await receivers("hang")
    settings = fast(make_settings, [webhook("good", good), webhook("failing", failing), webhook("hanging", hanging)])
    await ensure_topics(settings)
    registry = CollectorRegistry()
    alerting = Alerting(settings, registry, utcnow, fold=True, notify=True)
    task = asyncio.ensure_future(alerting.run())
    try:
        await produce_alerts(settings, [alert(1), alert(2)])
        await until(lambda: asyncio.sleep(0, len(good.accepted) == 2), 60, "the good sink got both alerts")
        opened = verified(good)
        assert {o["type"] for o in opened} == {"alert.open"}
        assert {o["data"]["alert"]["id"] for o in opened} == {alert(1).id, alert(2).id}
        assert all(o["id"] == o["data"]["change"]["id"] for o in opened)
        assert {o["data"]["severity"] for o in opened} == {"critical"}

        action = await alerting.desk.act(alert(1).id, "ack", {"reason": "on it"}, by="ops")
        await until(lambda: asyncio.sleep(0, len(good.accepted) == 3), 30, "the ack notified")
        acked = verified(good)[-1]
        assert acked["type"] == "alert.acknowledged" and acked["data"]["change"]["by"] == "ops"
        assert action.id != acked["id"]  # the change's id, not the action's

        async def dead() -> list[Any]:
            found = await read_topic(settings.kafka_bootstrap_servers, settings.topic("notify-dlq"))
            return found if len(found) == 6 else []  # 3 changes x 2 sinks out of retries

        letters = [orjson.loads(r.value) for r in await until(dead, 60, "failing and hanging sinks dead-lettered")]
        assert sorted(x["sink"] for x in letters) == ["failing"] * 3 + ["hanging"] * 3
        assert {x["attempts"] for x in letters} == {3}
        health = alerting.metrics.sinks
        assert (health["good"].delivered, health["good"].failed) == (3, 0)
        assert (health["failing"].failed, health["failing"].dead_lettered) == (9, 3)
        assert "HTTP 500" in (health["failing"].last_error or "")
        assert "Timeout" in (health["hanging"].last_error or "")
        text = __import__("prometheus_client").generate_latest(registry).decode()
        assert samples(text, "hooklog_notify_deliveries_total")['{outcome="dead_lettered",sink="hanging"}'] == 3
        assert samples(text, "hooklog_notify_lag") == {'{sink="failing"}': 0, '{sink="good"}': 0, '{sink="hanging"}': 0}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # the sinks are back: a redrive resends every dead letter with the ids the good sink saw
    failing.mode = hanging.mode = "ok"
    report = await redrive_notifications(settings, idle_timeout_s=2)
    assert report.failed == [] and len(report.resent) == 6
    good_ids = {o["id"] for o in verified(good)}
    assert {o["id"] for o in verified(failing)} == good_ids == {o["id"] for o in verified(hanging)}
    assert (await redrive_notifications(settings, idle_timeout_s=1)).resent == []  # each once


async def test_a_restart_resends_what_was_not_accepted_with_the_same_ids(
        make_settings: Callable[..., Settings], receivers: Callable[..., Any]) -> None:
    sink = await receivers("hang")
    settings = make_settings(notify=orjson.dumps([webhook("sink", sink)]).decode(), notify_attempts=50,
                             notify_backoff_s=0.01, notify_backoff_max_s=0.05, notify_timeout_s=0.3)
    await ensure_topics(settings)
    first = asyncio.ensure_future(Alerting(settings, CollectorRegistry(), utcnow, fold=True, notify=True).run())
    await produce_alerts(settings, [alert(3)])
    await until(lambda: asyncio.sleep(0, len(sink.requests) >= 2), 60, "the notifier retrying")
    first.cancel()  # stopped before the sink ever accepted: nothing was committed
    await asyncio.gather(first, return_exceptions=True)
    tried = {headers["webhook-id"] for headers, _ in sink.requests}
    sink.mode = "ok"
    second = asyncio.ensure_future(Alerting(settings, CollectorRegistry(), utcnow, fold=True, notify=True).run())
    try:
        await until(lambda: asyncio.sleep(0, len(sink.accepted) >= 1), 60, "the restarted notifier delivering")
    finally:
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
    assert {o["id"] for o in verified(sink)} == tried and len(tried) == 1


async def test_a_silence_that_ends_is_told_to_every_sink_as_the_alert_open_again(
        make_settings: Callable[..., Settings], receivers: Callable[..., Any]) -> None:
    sink = await receivers("ok")
    settings = fast(make_settings, [webhook("ops", sink)])
    await ensure_topics(settings)
    alerting = Alerting(settings, CollectorRegistry(), utcnow, fold=True, notify=True)
    task = asyncio.ensure_future(alerting.run())
    try:
        await produce_alerts(settings, [alert(4)])
        await until(lambda: asyncio.sleep(0, len(sink.accepted) == 1), 60, "the alert notified open")
        silence = await alerting.desk.act(alert(4).id, "silence", {"forSeconds": 2}, by="ops")
        await until(lambda: asyncio.sleep(0, len(sink.accepted) == 3), 60, "the silence and its end notified")
        told = verified(sink)
        assert [t["type"] for t in told] == ["alert.open", "alert.silenced", "alert.open"], told
        assert told[2]["data"]["change"]["by"] == "hooklog" and told[2]["id"] != told[0]["id"]
        actions = [orjson.loads(r.value) for r in await read_topic(settings.kafka_bootstrap_servers,
                                                                     settings.topic("alert-actions"))]
        (expiry,) = [AlertAction.model_validate(a) for a in actions if a["action"] == "expire"]  # once, though checked every second
        assert expiry.until == expiry.at == silence.until and expiry.by == "hooklog"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
