"""Factories for the notification tests: alerts, a signed webhook sink, alerts put on the topic,
and deliveries verified as a Standard Webhooks receiver verifies them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from standardwebhooks import Webhook

from floor.settings import Settings
from schemas.alerts import Alert, make_alert
from schemas.jsondump import plain_json
from tests.kafka_fixtures import Receiver

WHSEC = "whsec_" + base64.b64encode(b"a test key of thirty-two bytes!!").decode()


def alert(n: int) -> Alert:
    return make_alert("order_crypto_tx_failed", source="koywe", aggregate_id=f"ord-{n}", event_id=f"ev-{n}",
                      occurred_at=datetime(2026, 3, 20, 10, n, tzinfo=UTC), details={"n": n})


def webhook(name: str, receiver: Receiver) -> dict[str, str]:
    return {"type": "webhook", "name": name, "url": receiver.url, "secret": WHSEC}


async def produce_alerts(settings: Settings, alerts: list[Alert]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for a in alerts:
            await producer.send_and_wait(settings.topic("alerts"), plain_json(a), key=a.id.encode())
    finally:
        await producer.stop()


def verified(receiver: Receiver) -> list[dict[str, Any]]:
    """Every accepted delivery, verified as a Standard Webhooks receiver verifies it (raises otherwise)."""
    return [{**Webhook(WHSEC).verify(body, headers), "id": headers["webhook-id"]} for headers, body in receiver.accepted]
