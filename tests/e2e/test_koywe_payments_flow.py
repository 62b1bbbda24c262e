"""End to end on the real broker for Koywe's Payments API: `hooklog ingest` + `hooklog worker`
as processes, orders sent late, twice and out of order with `Koywe-Signature`, read back over
HTTP and from Kafka; a redelivered id with another body, contacts, a ping; replay == live."""

from __future__ import annotations

import random
from collections.abc import Callable

import aiohttp
import orjson
import pytest

from hooklog.dev.simulate import scramble
from hooklog.dev.simulate_payments import LIFECYCLES, order_lifecycle, payments_body, post_signed, wait_for_order
from schemas.envelope import decode_envelope
from streams.ops.verify import verify
from tests.conftest import T0
from tests.kafka_fixtures import System, api_headers, hooklog, read_topic

pytestmark = pytest.mark.kafka
SECRET = "kp-test-secret"
PATH = "/webhooks/koywe-payments"


async def test_orders_scrambled_and_repeated_end_in_their_status_and_replay_equals_live(
        run_system: Callable[..., System]) -> None:
    system = run_system(koywe_payments_secrets=f"kp-rotated-in,{SECRET}")
    url = f"{system.ingest_url}{PATH}"
    rng = random.Random(5)
    plans = {kind: order_lifecycle(kind, start=T0) for kind in LIFECYCLES}
    accepted: list[str] = []
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for deliveries in plans.values():
            for delivery in scramble(deliveries, rng, duplicates=0.5):
                status, answer = await post_signed(session, url, delivery.body, SECRET)
                assert status == 200 and answer["key"] == delivery.order_id, answer
                accepted.append(answer["id"])
        status, answer = await post_signed(session, url, plans["paid"][0].body, "not-the-secret")
        assert status == 401 and answer["error"] == "bad_signature"

        # the same event id again with another body: the first stands, an alert says so
        paid = orjson.loads(next(d.body for d in plans["paid"] if d.event_name == "order.paid"))
        changed = orjson.dumps({**paid, "data": {**paid["data"], "amount": "1.00"}})
        status, answer = await post_signed(session, url, changed, SECRET)
        assert status == 200
        accepted.append(answer["id"])
        contact = payments_body("contact.updated", "ct_1", T0, event_id="evt_ct_2", name="Ana Núñez")
        ping = b'{"id":"evt_ping_1","type":"ping"}'
        for body in (payments_body("contact.created", "ct_1", T0, event_id="evt_ct_1", name="Ana"), contact, ping):
            status, answer = await post_signed(session, url, body, SECRET)
            assert status == 200, answer
            accepted.append(answer["id"])

        for kind, deliveries in plans.items():
            state = await wait_for_order(session, system.worker_url, deliveries[0].order_id, LIFECYCLES[kind][1],
                                         events=len(deliveries))
            assert state is not None and state["status"] == LIFECYCLES[kind][1], (kind, state)
            assert [e["eventName"] for e in state["history"]] == [
                d.event_name.replace("cancelled", "canceled") for d in deliveries]
            assert state["externalId"] == f"cart-{deliveries[0].order_id}" and state["amount"] == "15000.50"
        # the contact's last delivery (contact.updated; the ping came after it) may lie in a later batch
        # than the orders': read it once that delivery is folded, not as soon as the orders are
        async with session.get(f"{system.worker_url}/koywe-payments/contacts/ct_1",
                               params={"delivery": accepted[-2], "wait": "10"}) as response:
            assert response.status == 200
        async with session.get(f"{system.worker_url}/events/koywe-payments/evt_ping_1") as response:
            assert response.status == 200 and (await response.json())["status"] == "ping"
        async with session.get(f"{system.worker_url}/koywe-payments/orders/no-such-order") as response:
            assert response.status == 404

    settings = system.settings
    raw = await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))
    assert sorted(decode_envelope(r.value).id for r in raw) == sorted(accepted)  # every 2xx stored once, nothing else
    published = {r.key.decode(): orjson.loads(r.value)
                 for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("koywe-payments.orders"))}
    assert {key: value["status"] for key, value in published.items()} == {
        d[0].order_id: LIFECYCLES[kind][1] for kind, d in plans.items()}
    alerts = [orjson.loads(a.value) for a in await read_topic(settings.kafka_bootstrap_servers, settings.topic("alerts"))]
    assert {a["aggregateId"] for a in alerts if a["type"] == "koywe_payments_event_changed"} == {plans["paid"][0].order_id}

    report = await verify(settings, wait_s=60, api_url=system.worker_url)
    assert report.differences == [], report.differences
    assert report.compared[settings.topic("koywe-payments.orders")] == len(plans)
    done = hooklog(settings, "simulate", "--source", "koywe-payments", "--ingest-url", system.ingest_url,
                   "--worker-url", system.worker_url)
    assert done.returncode == 0, done.stdout + done.stderr
