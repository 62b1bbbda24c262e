"""A private broker is stopped under ingest: 503 + Retry-After, never a 2xx for a lost event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from floor.settings import Settings
from hooklog.dev.localkafka import BrokerSpec, ensure_broker, stop_broker
from hooklog.dev.simulate import lifecycle
from schemas.envelope import decode_envelope
from tests.kafka_fixtures import SECRET, System, read_topic

pytestmark = pytest.mark.kafka


async def test_ingest_answers_503_while_the_broker_is_down_and_recovers(
    private_broker: BrokerSpec, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    system = System(make_settings(kafka_bootstrap_servers=private_broker.bootstrap, produce_timeout_s=2.0,
                                  retry_after_s=7), tmp_path)
    system.start("ingest")
    bodies = [d.body for d in lifecycle("onramp", SECRET, start=datetime(2026, 3, 20, tzinfo=UTC))]
    acked: list[str] = []
    try:
        async with aiohttp.ClientSession(headers={"Content-Type": "application/json"}) as session:
            async def send(body: bytes) -> aiohttp.ClientResponse:
                async with session.post(f"{system.ingest_url}/webhooks/koywe", data=body) as response:
                    if response.status == 200:
                        acked.append((await response.json())["id"])
                    await response.read()
                    return response

            assert (await send(bodies[0])).status == 200
            stop_broker(private_broker)
            down = await send(bodies[1])
            assert down.status == 503 and down.headers["Retry-After"] == "7"
            async with session.get(f"{system.ingest_url}/healthz") as live:
                assert live.status == 200  # alive, just not able to store
            ensure_broker(private_broker)
            for body in bodies[1:]:
                for _ in range(30):  # a provider retries every non-2xx
                    if (await send(body)).status == 200:
                        break
                else:
                    pytest.fail("ingest did not recover after the broker came back")
    finally:
        system.stop("ingest")
    raw = await read_topic(private_broker.bootstrap, system.settings.topic("raw"))
    stored = [decode_envelope(r.value).id for r in raw]
    assert set(acked) <= set(stored) and len(acked) == 4
    assert len(stored) == len(set(stored))
