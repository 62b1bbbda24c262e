"""Rate limits at the real gateway on the real broker: what a 429 means for the log.

The buckets run on a manual clock, so "over the limit" is exact and nothing depends on how fast
this machine sends. Client addresses are simulated with X-Forwarded-For from the trusted proxy
127.0.0.1 (the test client's own address).
"""

from __future__ import annotations

import asyncio
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
from tests.conftest import ManualClock
from tests.kafka_fixtures import SECRET, read_topic

pytestmark = pytest.mark.kafka
JSON = {"Content-Type": "application/json"}
Gateway = tuple[TestClient, Settings, ManualClock]


@pytest.fixture
async def make_gateway(make_settings: Callable[..., Settings], manual_clock: ManualClock) -> AsyncIterator[Callable[..., Any]]:
    """Factory: a gateway with the given settings on the session broker and a manual clock."""
    clients: list[TestClient] = []

    async def make(**overrides: Any) -> Gateway:
        settings = make_settings(**overrides)
        await ensure_topics(settings)
        producer = RawProducer(settings, settings.topic("raw"), ack_timeout_s=5)
        client = TestClient(TestServer(create_app(settings, producer, build_sources(settings), monotonic=manual_clock)))
        await client.start_server()
        clients.append(client)
        return client, settings, manual_clock

    yield make
    for client in clients:
        await client.close()


def delivery(order: str, secret: str = SECRET) -> bytes:
    return signed_koywe_body(orjson.dumps({"eventName": "payment_created", "orderId": order}), secret)


async def post(client: TestClient, body: bytes, client_address: str | None = None) -> tuple[int, dict, dict]:
    headers = {**JSON, **({"X-Forwarded-For": client_address} if client_address else {})}
    response = await client.post("/webhooks/koywe", data=body, headers=headers)
    return response.status, await response.json(), dict(response.headers)


async def stored(settings: Settings) -> list[Any]:
    return [decode_envelope(r.value) for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))]


async def metric(client: TestClient, line_start: str) -> float:
    text = await (await client.get("/metrics")).text()
    return sum(float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(line_start))


async def test_a_burst_over_the_limit_gets_429s_that_store_nothing(make_gateway: Callable[..., Any]) -> None:
    client, settings, clock = await make_gateway(rate_limits={"koywe": {"rate": 2, "burst": 5}})
    bodies = [delivery(f"burst-{n}") for n in range(12)]
    answers = await asyncio.gather(*(post(client, body) for body in bodies))

    accepted = {a["id"]: body for (status, a, _), body in zip(answers, bodies, strict=True) if status == 200}
    limited = [(a, h) for status, a, h in answers if status == 429]
    assert len(accepted) == 5 and len(limited) == 7
    assert all(a["error"] == "rate_limited" and h["Retry-After"] == "1" for a, h in limited)  # 1 token per 0.5 s
    records = await stored(settings)
    assert sorted(e.id for e in records) == sorted(accepted)  # each acked one stored once, no 429 at all
    assert {e.id: e.body for e in records} == accepted
    assert await metric(client, 'hooklog_ingest_limited_total{reason="rate",source="koywe"}') == 7

    clock.advance(0.5)  # one token later: exactly one more gets in
    assert [(await post(client, delivery(f"later-{n}")))[0] for n in range(2)] == [200, 429]


async def test_the_rate_limit_answers_before_the_body_is_read(make_gateway: Callable[..., Any]) -> None:
    client, settings, _ = await make_gateway(rate_limits={"koywe": {"rate": 1, "burst": 1}}, body_timeout_s=30)
    assert (await post(client, delivery("first")))[0] == 200
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:  # headers only: the body never comes, yet the answer does (a 408 would take 30 s)
        writer.write(b"POST /webhooks/koywe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000\r\n\r\n")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 429")
    assert len(await stored(settings)) == 1


async def test_requests_without_the_secret_do_not_use_up_the_source_s_limit(make_gateway: Callable[..., Any]) -> None:
    client, settings, _ = await make_gateway(rate_limits={"koywe": {"rate": 1, "burst": 3}}, failed_signature_burst=1000)
    refused = [await post(client, body) for body in
               [delivery(f"forged-{n}", secret="guess") for n in range(10)] + [b"{not json"] * 5]
    assert {status for status, _, _ in refused} == {400, 401}
    assert [(await post(client, delivery(f"real-{n}")))[0] for n in range(4)] == [200, 200, 200, 429]
    assert len(await stored(settings)) == 3


async def test_a_prober_is_slowed_while_a_good_sender_is_not_and_never_locked_out(make_gateway: Callable[..., Any]) -> None:
    client, settings, clock = await make_gateway(trusted_proxies="127.0.0.1", failed_signature_rate=0.5,
                                                 failed_signature_burst=3)
    prober, sender = "203.0.113.7", "198.51.100.2"
    probes = [await post(client, delivery(f"probe-{n}", secret=f"guess-{n}"), prober) for n in range(8)]
    assert [status for status, _, _ in probes] == [401] * 3 + [429] * 5
    for _, answer, headers in probes[3:]:
        assert answer["error"] == "failed_signatures_limited" and headers["Retry-After"] == "2"
        assert "signature does not match" in answer["detail"]  # the reason stays clear

    good = [await post(client, delivery(f"good-{n}"), sender) for n in range(6)]
    assert [status for status, _, _ in good] == [200] * 6
    assert (await post(client, delivery("good-typo", secret="old"), sender))[0] == 401  # its own bucket
    assert (await post(client, delivery("prober-signed"), prober))[0] == 200  # valid: accepted even now

    clock.advance(2.0)  # slowed, not shut out: one more failure is a 401 after 1 / rate seconds
    assert [(await post(client, delivery(f"probe-late-{n}", "x"), prober))[0] for n in range(2)] == [401, 429]
    ids = sorted(e.key for e in await stored(settings))
    assert ids == sorted([f"good-{n}" for n in range(6)] + ["prober-signed"])
    assert await metric(client, 'hooklog_ingest_limited_total{reason="failed_signatures",source="koywe"}') == 6


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(make_gateway: Callable[..., Any]) -> None:
    client, settings, _ = await make_gateway(trusted_proxies="10.0.0.1", failed_signature_burst=3)
    # a prober rotating the header from one socket address is still one address
    probes = [await post(client, delivery(f"p-{n}", secret="guess"), f"203.0.113.{n}") for n in range(6)]
    assert [status for status, _, _ in probes] == [401] * 3 + [429] * 3
    assert (await post(client, delivery("valid"), "198.51.100.2"))[0] == 200
    assert [e.key for e in await stored(settings)] == ["valid"]
