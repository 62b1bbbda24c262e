"""End to end: an alert opens, operators act on it by API, its condition clears it, and
`GET /alerts?state=` follows; the lifecycle topic holds each alert's latest state, which `verify`
finds equal to a fold of the alerts and actions topics (and reports once tampered with)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from hooklog.dev.simulate import koywe_payload, post, signed_body
from streams.ops.verify import verify
from tests.kafka_fixtures import SECRET, System, api_headers, read_topic, until

pytestmark = pytest.mark.kafka
T0 = datetime(2026, 3, 20, 10, tzinfo=UTC)


def order_event(name: str, order_id: str, second: int) -> bytes:
    return signed_body(koywe_payload(name, order_id, T0.replace(second=second)), SECRET)


async def get_json(session: aiohttp.ClientSession, url: str, method: str = "GET", **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def alerts_in(session: aiohttp.ClientSession, system: System, state: str) -> list[dict[str, Any]]:
    status, body = await get_json(session, f"{system.worker_url}/alerts?state={state}")
    assert status == 200, body
    return body["items"]


async def test_ack_silence_resolve_and_self_clearing(run_system: Callable[..., System]) -> None:
    system = run_system()
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for order, second in (("ord-a", 1), ("ord-b", 2)):
            assert (await post(session, f"{system.ingest_url}/webhooks/koywe", order_event("crypto_tx_failed", order, second)))[0] == 200

        async def both_open() -> list[dict[str, Any]] | None:
            found = await alerts_in(session, system, "open")
            return found if len(found) == 2 and all(a["lifecycle"]["changes"] for a in found) else None

        opened = await until(both_open, 60, "two alerts open in their lifecycle")
        ids = {a["aggregateId"]: a["id"] for a in opened}

        status, body = await get_json(session, f"{system.worker_url}/alerts/{ids['ord-a']}/ack", "POST",
                                      json={"reason": "looking"}, headers={"Idempotency-Key": "k-1"})
        assert status == 202 and body["action"]["action"] == "ack", body
        async def acknowledged() -> bool:
            return [a["id"] for a in await alerts_in(session, system, "acknowledged")] == [ids["ord-a"]]
        await until(acknowledged, 30, "ord-a acknowledged")

        status, body = await get_json(session, f"{system.worker_url}/alerts/{ids['ord-b']}/silence", "POST",
                                      json={"forSeconds": 3600})
        assert status == 202, body
        async def silenced() -> bool:
            return [a["id"] for a in await alerts_in(session, system, "silenced")] == [ids["ord-b"]]
        await until(silenced, 30, "ord-b silenced")

        # Koywe retried ord-a's transaction: the alert resolves by itself; ord-b is resolved by hand
        assert (await post(session, f"{system.ingest_url}/webhooks/koywe", order_event("crypto_tx_sent", "ord-a", 9)))[0] == 200
        assert (await get_json(session, f"{system.worker_url}/alerts/{ids['ord-b']}/resolve", "POST"))[0] == 202

        async def both_resolved() -> list[dict[str, Any]] | None:
            found = await alerts_in(session, system, "resolved")
            return found if len(found) == 2 else None

        resolved = {a["aggregateId"]: a["lifecycle"] for a in await until(both_resolved, 60, "both resolved")}
        assert resolved["ord-a"]["by"] == "hooklog" and "crypto_tx_sent" in resolved["ord-a"]["changes"][-1]["reason"]
        assert [c["status"] for c in resolved["ord-a"]["changes"]] == ["open", "acknowledged", "resolved"]
        assert [c["status"] for c in resolved["ord-b"]["changes"]] == ["open", "silenced", "resolved"]
        assert await alerts_in(session, system, "open") == []

        # the same Idempotency-Key is the same action: folded once
        again = await get_json(session, f"{system.worker_url}/alerts/{ids['ord-a']}/ack", "POST",
                               headers={"Idempotency-Key": "k-1"})
        assert again[0] == 202

        for path, json, detail in ((f"{ids['ord-a']}/silence", {}, "needs `until`"),
                                   (f"{ids['ord-a']}/snooze", {}, "must be one of"),
                                   ("not-an-id/ack", {}, "not an alert id"),
                                   (f"{ids['ord-a']}/silence", {"until": "tomorrow"}, "ISO 8601")):
            status, body = await get_json(session, f"{system.worker_url}/alerts/{path}", "POST", json=json)
            assert status == 400 and detail in body["detail"], (path, body)
        assert (await get_json(session, f"{system.worker_url}/alerts?state=sleeping"))[0] == 400

    lifecycles = await read_topic(system.settings.kafka_bootstrap_servers, system.settings.topic("lifecycle"))
    latest = {r.key: orjson.loads(r.value) for r in lifecycles}
    assert {v["status"] for v in latest.values()} == {"resolved"} and len(latest) == 2
    actions = await read_topic(system.settings.kafka_bootstrap_servers, system.settings.topic("alert-actions"))
    kinds = sorted(orjson.loads(r.value)["action"] for r in actions)
    assert kinds.count("ack") == 2 and "clear" in kinds and "silence" in kinds

    # verify folds the lifecycles afresh from the alerts and actions topics: they agree ...
    settings = system.settings
    report = await verify(settings, wait_s=60)
    assert report.differences == [] and report.compared[settings.topic("lifecycle")] == 2, report.differences[:5]
    # ... and a lifecycle the topic holds but its inputs do not make is reported
    tampered = latest[ids["ord-b"].encode()] | {"status": "open"}
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic("lifecycle"), orjson.dumps(tampered), key=ids["ord-b"].encode())
    finally:
        await producer.stop()
    dirty = await verify(settings, wait_s=0)
    assert [(d.projection, d.aggregate, d.field, d.live, d.replay) for d in dirty.differences] == [
        ("lifecycle", ids["ord-b"], "status", "open", "resolved")], dirty.differences
