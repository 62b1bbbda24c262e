"""Kuenta's token mode and the Koywe Payments source through the gateway, on the real broker:
a token from POST /oauth/token lets a webhook in until it expires (an injected clock), a failed
token request counts toward the address's failed-attempt limit, nothing unverified is stored."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from hooklog.dev.simulate_payments import payments_body, signature_headers
from ingest.gateway.app import create_app
from ingest.gateway.producer import RawProducer
from ingest.senders.sources import build_sources
from schemas.envelope import decode_envelope
from tests.kafka_fixtures import read_topic

pytestmark = pytest.mark.kafka
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KUENTA_BODY = orjson.dumps({"event": "payment.created", "data": {"id": "pay_1"}, "timestamp": "2026-03-20T10:00:00Z"})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def gateway(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[TestClient, Settings, Clock]]:
    settings = make_settings(kuenta_auth="token", kuenta_token_clients="kuenta:s3cret", kuenta_token_ttl_s=300,
                             koywe_payments_secrets="kp-new,kp-old", failed_signature_burst=3)
    await ensure_topics(settings)
    clock = Clock()
    producer = RawProducer(settings, settings.topic("raw"), ack_timeout_s=5)
    app = create_app(settings, producer, build_sources(settings, lambda: clock().timestamp()), clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client, settings, clock
    await client.close()


async def stored(settings: Settings) -> list:  # type: ignore[type-arg]
    return [decode_envelope(r.value) for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))]


async def test_a_token_lets_kuenta_in_until_it_expires(gateway: tuple[TestClient, Settings, Clock]) -> None:
    client, settings, clock = gateway
    basic = {"Authorization": "Basic " + base64.b64encode(b"kuenta:s3cret").decode(), **FORM}
    response = await client.post("/oauth/token", data=b"grant_type=client_credentials", headers=basic)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    answer = await response.json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 300
    bearer = {"Authorization": f"Bearer {answer['access_token']}", "Content-Type": "application/json"}

    response = await client.post("/webhooks/kuenta", data=KUENTA_BODY, headers=bearer)
    assert response.status == 200, await response.text()
    assert (await stored(settings))[0].body == KUENTA_BODY

    clock.now += timedelta(seconds=300)
    response = await client.post("/webhooks/kuenta", data=KUENTA_BODY, headers=bearer)
    assert response.status == 401 and "expired" in (await response.json())["detail"]
    response = await client.post("/webhooks/kuenta", data=KUENTA_BODY, headers={"Content-Type": "application/json"})
    assert response.status == 401
    assert len(await stored(settings)) == 1  # nothing unverified was stored


async def test_form_credentials_and_refusals_as_rfc_6749_says(gateway: tuple[TestClient, Settings, Clock]) -> None:
    client, _, _ = gateway
    ok = await client.post("/oauth/token", headers=FORM,
                           data=b"grant_type=client_credentials&client_id=kuenta&client_secret=s3cret")
    assert ok.status == 200
    wrong = await client.post("/oauth/token", headers=FORM,
                              data=b"grant_type=client_credentials&client_id=kuenta&client_secret=nope")
    assert wrong.status == 401 and (await wrong.json())["error"] == "invalid_client"
    grant = await client.post("/oauth/token", headers=FORM, data=b"grant_type=password&client_id=kuenta")
    assert grant.status == 400 and (await grant.json())["error"] == "unsupported_grant_type"


async def test_failed_token_requests_count_toward_the_failed_attempt_limit(
        gateway: tuple[TestClient, Settings, Clock]) -> None:
    client, _, _ = gateway
    bad = b"grant_type=client_credentials&client_id=kuenta&client_secret=guess"
    statuses = [(await client.post("/oauth/token", headers=FORM, data=bad)).status for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = await client.post("/oauth/token", headers=FORM, data=bad)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    # the limit is per address and shared with failed signatures: a bad webhook is limited too
    response = await client.post("/webhooks/kuenta", data=KUENTA_BODY, headers={"Authorization": "Bearer x", "Content-Type": "application/json"})
    assert response.status == 429
    metrics = await (await client.get("/metrics")).text()
    assert 'hooklog_ingest_token_requests_total{outcome="refused"} 5.0' in metrics


async def test_koywe_payments_is_stored_keyed_by_data_id_and_a_bad_signature_is_not(
        gateway: tuple[TestClient, Settings, Clock]) -> None:
    client, settings, clock = gateway
    body = payments_body("order.paid", "ord_9", clock.now, event_id="evt_1", amount="10", note="ñandú 🚀")
    assert (await client.post("/webhooks/koywe-payments", data=body, headers=signature_headers(body, "kp-old"))).status == 200
    refused = [(body, signature_headers(body, "wrong")),  # a secret not configured
               (body, {"Content-Type": "application/json"}),  # no signature
               (body + b" ", signature_headers(body, "kp-new"))]  # one byte more than was signed
    for sent, headers in refused:
        response = await client.post("/webhooks/koywe-payments", data=sent, headers=headers)
        assert response.status == 401
    (envelope,) = await stored(settings)
    assert envelope.body == body and envelope.key == "ord_9" and envelope.event_name == "order.paid"
