"""A DLQ round trip on the real broker: a record an older, buggy ingest keyed wrongly is
dead-lettered with its reason, then redriven once (re-routed by the current code) and folded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
from aiokafka import AIOKafkaProducer
import pytest

from hooklog.dev.simulate import koywe_payload, signed_body, wait_for_state
from schemas.envelope import encode_envelope, new_envelope
from streams.ops.redrive import redrive
from tests.kafka_fixtures import SECRET, System, api_headers, read_topic

pytestmark = pytest.mark.kafka


async def test_a_misrouted_record_is_dead_lettered_then_redriven_once(run_system: Callable[..., System]) -> None:
    system = run_system("worker")
    settings = system.settings
    body = signed_body(koywe_payload("payment_created", "ord-77", datetime(2026, 3, 20, tzinfo=UTC)), SECRET)
    wrong = new_envelope(source="koywe", key="ord-WRONG", event_name="payment_created", body=body,
                         received_at=datetime.now(UTC))
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    await producer.send_and_wait(settings.topic("raw"), encode_envelope(wrong), key=b"ord-WRONG")
    await producer.stop()

    for _ in range(100):
        dead = await read_topic(settings.kafka_bootstrap_servers, settings.topic("dlq"))
        if dead:
            break
        await asyncio.sleep(0.3)
    assert len(dead) == 1 and b"differs from the aggregate id" in dead[0].value

    report = await redrive(settings, idle_timeout_s=2)
    assert report.redriven == [wrong.id] and report.skipped == []
    assert (await redrive(settings, idle_timeout_s=1)).redriven == []  # resumable: nothing twice

    async with aiohttp.ClientSession(headers=api_headers()) as session:
        state = await wait_for_state(session, system.worker_url, "ord-77", "WAITING")
    assert state is not None and state["history"][0]["deliveryId"] == wrong.id
    raw = await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))
    assert [r.key for r in raw].count(b"ord-77") == 1
