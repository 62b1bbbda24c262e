"""The gateway in-process on the real broker: what each answer means for the log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from ingest.gateway.app import create_app
from ingest.gateway.producer import RawProducer
from ingest.senders.signatures import signed_koywe_body
from ingest.senders.sources import build_sources
from schemas.envelope import decode_envelope
from tests.kafka_fixtures import SECRET, read_topic

pytestmark = pytest.mark.kafka
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def gateway(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[TestClient, Settings]]:
    settings = make_settings(max_body_bytes=4096)
    await ensure_topics(settings)
    producer = RawProducer(settings, settings.topic("raw"), ack_timeout_s=5)
    client = TestClient(TestServer(create_app(settings, producer, build_sources(settings))))
    await client.start_server()
    yield client, settings
    await client.close()


def body(secret: str = SECRET, **payload: Any) -> bytes:
    doc = {"eventName": "payment_created", "orderId": "ord-42", "timeStamp": "2026-03-20T10:00:00.000Z", **payload}
    return signed_koywe_body(orjson.dumps(doc), secret)


async def raw_values(settings: Settings) -> list[bytes]:
    return [r.value for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))]


async def test_a_signed_webhook_is_stored_byte_for_byte_before_the_200(gateway: tuple[TestClient, Settings]) -> None:
    client, settings = gateway
    sent = body(note="ñandú 🚀 \u2028")
    response = await client.post("/webhooks/koywe", data=sent, headers={"Content-Type": "application/json"})
    assert response.status == 200
    answer = await response.json()
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))
    assert len(records) == 1
    envelope = decode_envelope(records[0].value)
    assert envelope.id == answer["id"] and envelope.body == sent
    assert records[0].key == b"ord-42" and envelope.key == "ord-42" and envelope.event_name == "payment_created"


@pytest.mark.parametrize(
    ("make_body", "status", "code"),
    [
        (lambda: body(secret="wrong-secret"), 401, "bad_signature"),
        (lambda: body().replace(b"ord-42", b"ord-43"), 401, "bad_signature"),
        (lambda: orjson.dumps({"eventName": "payment_created", "orderId": "ord-42"}), 401, "bad_signature"),
        (lambda: b"{not json", 400, "bad_request"),
        (lambda: b"[1, 2]", 400, "bad_request"),
        (lambda: signed_koywe_body(orjson.dumps({"orderId": "ord-42"}), SECRET), 400, "bad_request"),
        (lambda: signed_koywe_body(orjson.dumps({"eventName": "payment_created"}), SECRET), 400, "bad_request"),
        (lambda: body(padding="x" * 5000), 413, "body_too_large"),
    ],
    ids=["wrong-secret", "tampered", "unsigned", "not-json", "not-object", "no-event-name", "no-order-id", "too-large"],
)
async def test_rejected_requests_never_reach_the_log(
    gateway: tuple[TestClient, Settings], make_body: Callable[[], bytes], status: int, code: str
) -> None:
    client, settings = gateway
    response = await client.post("/webhooks/koywe", data=make_body(), headers=JSON)
    assert response.status == status
    answer = await response.json()
    assert answer["error"] == code and SECRET not in answer["detail"]
    assert await raw_values(settings) == []


async def test_unknown_source_is_404(gateway: tuple[TestClient, Settings]) -> None:
    client, settings = gateway
    response = await client.post("/webhooks/nobody", data=body(), headers=JSON)
    assert response.status == 404
    assert (await response.json())["error"] == "unknown_source"
    assert await raw_values(settings) == []


async def test_health_and_readiness(gateway: tuple[TestClient, Settings]) -> None:
    client, _ = gateway
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
