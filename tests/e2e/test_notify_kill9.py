"""End to end: a worker's notifier whose sink fails is killed with SIGKILL mid-retry; after the
restart, with the sink back, every alert's change arrives (same ids, signed): none lost."""

from __future__ import annotations

import asyncio
import base64
import signal
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest
from standardwebhooks import Webhook

from hooklog.dev.simulate import koywe_payload, post, signed_body
from tests.kafka_fixtures import SECRET, System, read_topic, until

pytestmark = pytest.mark.kafka
WHSEC = "whsec_" + base64.b64encode(b"another key, thirty-two bytes!!!").decode()


async def test_nothing_lost_across_a_worker_kill9(run_system: Callable[..., System], receivers: Callable[..., Any]) -> None:
    from datetime import UTC, datetime

    sink = await receivers("fail")
    system = run_system(notify=orjson.dumps([{"type": "webhook", "name": "ops", "url": sink.url, "secret": WHSEC}]).decode(),
                        notify_attempts=100, notify_backoff_s=0.05, notify_backoff_max_s=0.2)
    start = datetime(2026, 3, 20, 10, tzinfo=UTC)
    async with aiohttp.ClientSession() as session:
        for n in range(3):
            body = signed_body(koywe_payload("crypto_tx_failed", f"ord-k{n}", start.replace(second=n)), SECRET)
            assert (await post(session, f"{system.ingest_url}/webhooks/koywe", body))[0] == 200
    await until(lambda: asyncio.sleep(0, len(sink.requests) >= 3), 90, "the worker's notifier retrying")
    assert sink.accepted == []
    system.stop("worker", signal.SIGKILL)
    sink.mode = "ok"
    await asyncio.to_thread(system.start, "worker")

    async def opened() -> set[str]:
        lifecycles = await read_topic(system.settings.kafka_bootstrap_servers, system.settings.topic("lifecycle"))
        ids = {orjson.loads(r.value)["changes"][0]["id"] for r in lifecycles}
        got = {headers["webhook-id"] for headers, _ in sink.accepted}
        return ids if len(ids) == 3 and ids <= got else set()

    expected = await until(opened, 120, "every change delivered after the restart")
    for headers, body in sink.accepted:
        assert Webhook(WHSEC).verify(body, headers)["type"] == "alert.open"
    assert {headers["webhook-id"] for headers, _ in sink.accepted} == expected  # re-sent with the same ids, nothing new
