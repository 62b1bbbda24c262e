"""End to end for Kuenta: header-signed bodies, one projection per family, alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest

from ingest.senders.signatures import sign_hmac_hex
from tests.kafka_fixtures import System, api_headers, read_topic

pytestmark = pytest.mark.kafka
KUENTA_SECRET = "kuenta-test-secret"

LIFECYCLES = {
    "credit": (["credit.application.created", "credit.application.approved", "credit.disbursed", "credit.completed"], "completed"),
    "payment": (["payment.created", "payment.failed", "payment.completed", "payment.refunded"], "refunded"),
    "document": (["document.created", "document.expired"], "expired"),
    "validation": (["validation.started", "validation.failed"], "failed"),
}


def kuenta_body(event: str, ident: str, second: int, amount: int | None = 5000000) -> bytes:
    data: dict[str, Any] = {"id": ident}
    if amount is not None:
        data["amount"] = amount
    return orjson.dumps({"event": event, "data": data, "timestamp": f"2024-03-20T10:00:{second:02d}Z"})


async def send(session: aiohttp.ClientSession, url: str, body: bytes, signature: str) -> int:
    async with session.post(url, data=body, headers={"X-Signature": signature, "Content-Type": "application/json"}) as r:
        await r.read()
        return r.status


async def test_every_family_folds_out_of_order_and_alerts(run_system: Callable[..., System]) -> None:
    system = run_system(kuenta_secrets=f"old-secret,{KUENTA_SECRET}")
    url = f"{system.ingest_url}/webhooks/kuenta"
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for family, (events, _) in LIFECYCLES.items():
            bodies = [kuenta_body(event, f"{family}_1", i) for i, event in enumerate(events)]
            for body in reversed(bodies + bodies[:1]):  # newest first, the first one twice
                assert await send(session, url, body, sign_hmac_hex(body, KUENTA_SECRET)) == 200
        body = kuenta_body("payment.created", "payment_2", 1)
        assert await send(session, url, body, sign_hmac_hex(body, "wrong")) == 401
        assert await send(session, url, body, "") == 401

        for family, (events, final) in LIFECYCLES.items():
            state: dict[str, Any] = {}
            for _ in range(200):
                async with session.get(f"{system.worker_url}/kuenta/{family}/{family}_1") as response:
                    state = await response.json() if response.status == 200 else {}
                if len(state.get("history", [])) == len(events):
                    break
                await asyncio.sleep(0.3)
            assert (state["id"], state["family"], state["status"]) == (f"{family}_1", family, final)
            assert [e["eventName"] for e in state["history"]] == events
        async with session.get(f"{system.worker_url}/kuenta/loans/x") as response:
            assert response.status == 404
        async with session.get(f"{system.worker_url}/kuenta/payment/payment_2") as response:
            assert response.status == 404  # the unsigned one never got in

    alerts = await read_topic(system.settings.kafka_bootstrap_servers, system.settings.topic("alerts"))
    kinds = {orjson.loads(a.value)["type"] for a in alerts}
    assert kinds == {"kuenta_payment_failed", "kuenta_payment_refunded", "kuenta_document_expired",
                     "kuenta_validation_failed"}
    published = await read_topic(system.settings.kafka_bootstrap_servers, system.settings.topic("kuenta.credit"))
    assert orjson.loads(published[-1].value)["status"] == "completed"
