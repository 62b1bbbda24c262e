"""Every Node-made Koywe vector through the real gateway on the real broker: the same accept or
reject as the unit verifier (tests/ingest/senders/test_signatures.py), and an accepted body stored byte
for byte. Each vector gets a Koywe source of its own (its own secrets) on one app."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from ingest.gateway.app import create_app
from ingest.gateway.producer import RawProducer
from ingest.senders.signatures import verify_koywe
from ingest.senders.sources import koywe_source
from schemas.envelope import decode_envelope
from schemas.errors import SignatureError
from tests.kafka_fixtures import read_topic

pytestmark = pytest.mark.kafka

VECTORS = json.loads((Path(__file__).parents[1] / "senders" / "vectors" / "koywe_vectors.json").read_text(encoding="utf-8"))


def unit_verdict(body: bytes, secrets: list[str]) -> bool:
    """What the unit test's verifier says about the body (it parses the body itself)."""
    try:
        verify_koywe(body, [SecretStr(s) for s in secrets])
    except SignatureError:
        return False
    return True


def routable(case: dict) -> bool:
    """Whether the signed payload names an event and an order (two vectors are bare objects)."""
    payload = json.loads(case["signed"])
    return "eventName" in payload and "orderId" in payload


async def test_every_vector_gets_the_unit_verifier_s_verdict_at_the_gateway(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(failed_signature_burst=1000)  # this test is about verdicts, not the limit
    await ensure_topics(settings)
    sources = {case["name"]: koywe_source(tuple(SecretStr(s) for s in case["secrets"])) for case in VECTORS}
    producer = RawProducer(settings, settings.topic("raw"), ack_timeout_s=5)
    client = TestClient(TestServer(create_app(settings, producer, sources)))
    await client.start_server()
    answers: dict[str, tuple[int, dict]] = {}
    try:
        for case in VECTORS:
            response = await client.post(f"/webhooks/{case['name']}", data=bytes.fromhex(case["body_utf8_hex"]),
                                         headers={"Content-Type": "application/json"})
            answers[case["name"]] = (response.status, await response.json())
        metrics = await (await client.get("/metrics")).text()
    finally:
        await client.close()
    stored = {e.id: e for e in map(decode_envelope, (r.value for r in await read_topic(
        settings.kafka_bootstrap_servers, settings.topic("raw"))))}

    mismatches = []
    for case in VECTORS:
        body = bytes.fromhex(case["body_utf8_hex"])
        status, answer = answers[case["name"]]
        unit = unit_verdict(body, case["secrets"])
        gateway = status != 401  # the signature was accepted (a 400 after it is routing's)
        if not unit == gateway == case["valid"]:
            mismatches.append((case["name"], case["valid"], unit, status, answer))
        elif case["valid"] and routable(case):
            envelope = stored.get(answer.get("id", ""))
            if status != 200 or envelope is None or envelope.body != body:
                mismatches.append((case["name"], "not stored byte for byte", status, answer))
        elif case["valid"]:
            if (status, answer["error"]) != (400, "bad_request") or "eventName" not in answer["detail"]:
                mismatches.append((case["name"], "signed but unroutable: expected 400 naming eventName", status, answer))
        elif answer["error"] != "bad_signature":
            mismatches.append((case["name"], "expected bad_signature", status, answer))
    assert mismatches == []
    accepted = [c for c in VECTORS if c["valid"] and routable(c)]
    assert len(stored) == len(accepted) and len(accepted) >= 20  # each stored once, nothing refused stored
    assert answers["lone_surrogate"][0] == 200  # see schemas/jsonbody.py and tests/schemas/test_jsonbody.py
    failed = sorted(c["name"] for c in VECTORS if not c["valid"])
    counted = sorted(n for n in failed if f'hooklog_ingest_signature_failures_total{{source="{n}"}} 1.0' in metrics)
    assert counted == failed
