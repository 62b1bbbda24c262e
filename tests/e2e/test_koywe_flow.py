"""End to end on the real broker: `hooklog ingest` + `hooklog worker` as processes, signed
Koywe lifecycles sent late, twice and out of order, read back over HTTP and from Kafka."""

from __future__ import annotations

import random
from collections.abc import Callable

import aiohttp
import orjson
import pytest

from hooklog.dev.simulate import lifecycle, post, scramble, wait_for_state
from schemas.envelope import decode_envelope
from tests.conftest import T0
from tests.kafka_fixtures import SECRET, System, api_headers, read_topic

pytestmark = pytest.mark.kafka



async def test_lifecycles_scrambled_and_repeated_end_in_their_final_state(run_system: Callable[..., System]) -> None:
    system = run_system()
    rng = random.Random(11)
    plans = {kind: lifecycle(kind, SECRET, start=T0) for kind in ("onramp", "offramp", "offramp-corrected", "peru-wire")}
    accepted: list[str] = []
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for deliveries in plans.values():
            for delivery in scramble(deliveries, rng, duplicates=0.5):
                status, answer = await post(session, f"{system.ingest_url}/webhooks/koywe", delivery.body)
                assert status == 200, answer
                accepted.append(answer["id"])
        tampered = plans["onramp"][0].body.replace(b"payment_created", b"payment_rejected")
        status, answer = await post(session, f"{system.ingest_url}/webhooks/koywe", tampered)
        assert status == 401 and answer["error"] == "bad_signature"

        for kind, deliveries in plans.items():
            state = await wait_for_state(session, system.worker_url, deliveries[0].order_id, "DELIVERED",
                                         events=len(deliveries))
            assert state is not None and state["state"] == "DELIVERED", (kind, state)
            # each distinct event once, in event-time order, whatever the arrival order and repeats
            assert [e["eventName"] for e in state["history"]] == [d.event_name for d in deliveries]
        async with session.get(f"{system.worker_url}/orders/no-such-order") as response:
            assert response.status == 404

    settings = system.settings
    raw = await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))
    assert sorted(decode_envelope(r.value).id for r in raw) == sorted(accepted)  # every 2xx stored once, nothing else

    published: dict[bytes, dict] = {}
    for record in await read_topic(settings.kafka_bootstrap_servers, settings.topic("orders")):
        published[record.key] = orjson.loads(record.value)
    assert {key.decode(): value["state"] for key, value in published.items()} == {
        d[0].order_id: "DELIVERED" for d in plans.values()
    }
    alerts = await read_topic(settings.kafka_bootstrap_servers, settings.topic("alerts"))
    modified = {orjson.loads(a.value)["aggregateId"] for a in alerts if orjson.loads(a.value)["type"] == "order_amount_modified"}
    assert modified == {plans["peru-wire"][0].order_id}


async def test_an_undecodable_event_goes_to_the_dlq_and_the_order_is_untouched(run_system: Callable[..., System]) -> None:
    from ingest.senders.signatures import signed_koywe_body

    system = run_system()
    deliveries = lifecycle("onramp", SECRET, start=T0)
    order_id = deliveries[0].order_id
    unknown = signed_koywe_body(orjson.dumps({"eventName": "payment_teleported", "orderId": order_id}), SECRET)
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for body in (deliveries[0].body, unknown, deliveries[1].body):
            status, _ = await post(session, f"{system.ingest_url}/webhooks/koywe", body)
            assert status == 200
        state = await wait_for_state(session, system.worker_url, order_id, "PENDING")
    assert state is not None and [e["eventName"] for e in state["history"]] == ["payment_created", "payment_received"]
    dead = await read_topic(system.settings.kafka_bootstrap_servers, system.settings.topic("dlq"))
    assert len(dead) == 1
    meta, _, original = dead[0].value.partition(b"\n")
    assert b"payment_teleported" in meta and decode_envelope(original).body == unknown


async def test_a_client_reads_its_own_write_by_waiting_for_its_delivery(run_system: Callable[..., System]) -> None:
    """`?delivery=<id>&wait=<s>` answers once the acked delivery is folded: no polling."""
    system = run_system()
    deliveries = lifecycle("onramp", SECRET, start=T0)
    order_id = deliveries[0].order_id
    url = f"{system.worker_url}/orders/{order_id}"
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for delivery in (deliveries[0], deliveries[1], deliveries[1]):  # the last one a redelivery
            _, answer = await post(session, f"{system.ingest_url}/webhooks/koywe", delivery.body)
            async with session.get(url, params={"delivery": answer["id"], "wait": "20"}) as response:
                assert response.status == 200
                state = orjson.loads(await response.read())
            assert [e["eventName"] for e in state["history"]] == ["payment_created", "payment_received"][:len(state["history"])]
            assert delivery.event_name in [e["eventName"] for e in state["history"]]
        never = "f" * 32
        async with session.get(url, params={"delivery": never, "wait": "0.5"}) as response:
            assert response.status == 404 and (await response.json())["error"] == "not_folded"
        for params in ({"delivery": "not-an-id"}, {"delivery": never, "wait": "31"}, {"delivery": never, "wait": "x"}):
            async with session.get(url, params=params) as response:
                assert response.status == 400 and (await response.json())["error"] == "bad_request"
