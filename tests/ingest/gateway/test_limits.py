"""Hostile input at the gateway: every limit answers a small JSON error, before anything is parsed.

No broker here: the producer points at a closed port, so anything that would reach Kafka answers
503 at once, and everything refused earlier shows that it never got that far.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from floor.settings import Settings
from ingest.gateway.app import create_app
from ingest.gateway.limits import content_type_ok, json_depth, too_deep
from ingest.gateway.producer import RawProducer
from ingest.senders.signatures import signed_koywe_body
from ingest.senders.sources import Route, Source, build_sources
from tests.kafka_fixtures import SECRET, free_port

pytestmark = pytest.mark.unit
JSON = {"Content-Type": "application/json"}


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet='[]{}"\\ab\u2028', max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\x', max_size=4), inner, max_size=3),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_depth_scan_equals_the_parsed_depth_whatever_the_strings_hold(value: Any) -> None:
    body = orjson.dumps(value)
    assert json_depth(body) == depth_of(value)
    assert too_deep(body, depth_of(value)) is False
    assert too_deep(body, depth_of(value) - 1) is (depth_of(value) > 0)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_depth_scan_takes_any_bytes(body: bytes) -> None:
    assert json_depth(body) >= 0 and isinstance(too_deep(body, 3), bool)


def test_depth_scan_is_not_fooled_by_escaped_quotes_or_unterminated_strings() -> None:
    assert json_depth(b'{"a":"\\"[[[[","b":[[1]]}') == 3
    assert json_depth(b'"\\"\\"\\"' * 1000) == 0  # quadratic for a naive regex
    assert too_deep(b"[" * 100_000, 32) and not too_deep(b"[]" * 100_000, 32)


@pytest.mark.parametrize(
    ("header", "ok"),
    [("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON;charset=UTF8", True),
     (None, True), ("application/json; charset=latin-1", False), ("text/plain", False),
     ("application/x-www-form-urlencoded", False), ("multipart/form-data; boundary=x", False)],
)
def test_content_types(header: str | None, ok: bool) -> None:
    assert content_type_ok(header) is ok


def explode(body: bytes, doc: dict[str, Any], headers: Mapping[str, str]) -> None:
    raise RuntimeError("secret-in-traceback: /etc/hooklog/key")


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[TestClient, Settings]]:
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", koywe_secrets=SECRET,
                        max_body_bytes=4096, body_timeout_s=0.5, max_in_flight=1, produce_timeout_s=1.0,
                        retry_after_s=9, max_json_depth=8, ready_cache_s=0)
    producer = RawProducer(settings, settings.topic("raw"), ack_timeout_s=1.0)
    sources = {**build_sources(settings), "boom": Source("boom", explode, lambda doc, headers: Route("x", "y"))}
    client = TestClient(TestServer(create_app(settings, producer, sources)))
    await client.start_server()
    yield client, settings
    await client.close()


def signed(**payload: Any) -> bytes:
    doc = {"eventName": "payment_created", "orderId": "ord-1", "timeStamp": "2026-03-20T10:00:00.000Z", **payload}
    return signed_koywe_body(orjson.dumps(doc), SECRET)


async def answer(response: Any) -> tuple[int, dict[str, Any]]:
    assert response.content_type == "application/json"
    return response.status, await response.json()


async def test_content_type_415_but_a_missing_one_is_accepted(gateway: tuple[TestClient, Settings]) -> None:
    client, _ = gateway
    status, body = await answer(await client.post("/webhooks/koywe", data=signed(), headers={"Content-Type": "text/plain"}))
    assert (status, body["error"]) == (415, "unsupported_media_type")
    no_type = await client.post("/webhooks/koywe", data=b"{}", skip_auto_headers=["Content-Type"])
    assert "Content-Type" not in no_type.request_info.headers
    assert (await answer(no_type))[1]["error"] == "bad_signature"  # got past the content type
    charset = await client.post("/webhooks/koywe", data=b"{}", headers={"Content-Type": "application/json; charset=utf-8"})
    assert (await answer(charset))[0] == 401


async def test_bodies_over_the_limit_are_413_with_or_without_a_content_length(gateway: tuple[TestClient, Settings]) -> None:
    client, settings = gateway
    big = signed(padding="x" * settings.max_body_bytes)
    assert (await answer(await client.post("/webhooks/koywe", data=big, headers=JSON)))[1]["error"] == "body_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1024

    status, body = await answer(await client.post("/webhooks/koywe", data=chunks(), headers=JSON))
    assert (status, body["error"]) == (413, "body_too_large")


async def test_nesting_bombs_are_refused_before_parsing(gateway: tuple[TestClient, Settings]) -> None:
    client, _ = gateway
    bomb = signed(deep=orjson.loads(b"[" * 9 + b"]" * 9))
    status, body = await answer(await client.post("/webhooks/koywe", data=bomb, headers=JSON))
    assert (status, body["error"]) == (400, "too_deep")
    fine = signed(deep=orjson.loads(b"[" * 7 + b"]" * 7), note="[[[[[[[[[[[[[[")  # brackets in strings do not count
    assert (await answer(await client.post("/webhooks/koywe", data=fine, headers=JSON)))[1]["error"] == "broker_unavailable"


async def raw_request(client: TestClient, head: bytes, body_part: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head + body_part)
    await writer.drain()
    return reader, writer


def stalled_head(length: int = 100) -> bytes:
    return (f"POST /webhooks/koywe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


async def test_a_body_that_never_finishes_gets_408_and_the_connection_closed(gateway: tuple[TestClient, Settings]) -> None:
    client, _ = gateway
    reader, writer = await raw_request(client, stalled_head(), b'{"eventName":')
    try:
        raw = await asyncio.wait_for(reader.read(), 30)  # read() to EOF: the server closes
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert orjson.loads(body)["error"] == "request_timeout"


async def in_flight(client: TestClient) -> float:
    text = await (await client.get("/metrics")).text()
    line = next(ln for ln in text.splitlines() if ln.startswith("hooklog_ingest_in_flight "))
    return float(line.split()[1])


async def test_beyond_the_in_flight_limit_new_requests_get_503_and_retry_after(gateway: tuple[TestClient, Settings]) -> None:
    client, settings = gateway
    reader, writer = await raw_request(client, stalled_head(), b"{")  # holds the only slot until its deadline
    try:
        for _ in range(200):
            if await in_flight(client) == 1:
                break
            await asyncio.sleep(0.01)
        response = await client.post("/webhooks/koywe", data=signed(), headers=JSON)
        status, body = await answer(response)
        assert (status, body["error"], response.headers["Retry-After"]) == (503, "overloaded", "9")
        await asyncio.wait_for(reader.read(), 30)  # the stalled one ends (408), freeing the slot
    finally:
        writer.close()
    assert await in_flight(client) == 0
    assert (await answer(await client.post("/webhooks/koywe", data=b"{}", headers=JSON)))[0] == 401


async def test_aiohttp_s_own_errors_are_json_without_internals(gateway: tuple[TestClient, Settings]) -> None:
    client, _ = gateway
    status, body = await answer(await client.get("/no/such/page"))
    assert (status, body["error"]) == (404, "not_found")
    response = await client.get("/webhooks/koywe")
    status, body = await answer(response)
    assert (status, body["error"]) == (405, "method_not_allowed") and "POST" in response.headers["Allow"]
    status, body = await answer(await client.post("/webhooks/boom", data=b"{}", headers=JSON))
    assert (status, body) == (500, {"error": "internal_error", "detail": "unexpected error; it has been logged"})
    status, body = await answer(await client.post("/webhooks/nobody", data=b"{}", headers=JSON))
    assert (status, body["error"]) == (404, "unknown_source")


async def test_broker_away_means_503_and_not_ready(gateway: tuple[TestClient, Settings]) -> None:
    client, _ = gateway
    response = await client.post("/webhooks/koywe", data=signed(), headers=JSON)
    status, body = await answer(response)
    assert (status, body["error"], response.headers["Retry-After"]) == (503, "broker_unavailable", "9")
    ready = await client.get("/readyz")
    assert ready.status == 503 and (await ready.json())["error"] == "not_ready"
    assert (await client.get("/healthz")).status == 200


async def test_metrics_count_by_source_and_status_with_bounded_labels(gateway: tuple[TestClient, Settings]) -> None:
    client, _ = gateway
    await client.post("/webhooks/koywe", data=signed().replace(b"ord-1", b"ord-2"), headers=JSON)
    await client.post("/webhooks/%3Cscript%3E", data=b"{}", headers=JSON)
    text = await (await client.get("/metrics")).text()
    assert 'hooklog_ingest_requests_total{source="koywe",status="401"} 1.0' in text
    assert 'hooklog_ingest_signature_failures_total{source="koywe"} 1.0' in text
    assert 'hooklog_ingest_requests_total{source="unknown",status="404"} 1.0' in text
    assert "script" not in text and SECRET not in text

