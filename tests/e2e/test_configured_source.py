"""A Standard Webhooks sender added by configuration alone, end to end on the real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest

from ingest.senders.signatures import sign_standard_webhooks
from schemas.sources import SourceConfig
from tests.kafka_fixtures import System, api_headers

pytestmark = pytest.mark.kafka
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def delivery(msg_id: str, event: str, ident: str, at: str, *, sent: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps({"type": event, "data": {"id": ident}, "timestamp": at})
    stamp = sent if sent is not None else int(time.time())
    return body, {"webhook-id": msg_id, "webhook-timestamp": str(stamp),
                  "webhook-signature": sign_standard_webhooks(msg_id, stamp, body, SECRET)}


async def test_a_standard_webhooks_source_needs_only_configuration(run_system: Callable[..., System]) -> None:
    config = SourceConfig(name="acme", scheme="standard-webhooks", secrets=f"whsec_b2xkLXNlY3JldA==,{SECRET}")
    system = run_system(sources=(config,))
    url = f"{system.ingest_url}/webhooks/acme"
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        async def post(body: bytes, headers: dict[str, str]) -> int:
            async with session.post(url, data=body, headers={**headers, "Content-Type": "application/json"}) as r:
                await r.read()
                return r.status

        shipped = delivery("msg_2", "invoice.paid", "inv_1", "2026-03-20T10:00:02Z")
        assert await post(*shipped) == 200
        assert await post(*delivery("msg_1", "invoice.created", "inv_1", "2026-03-20T10:00:01Z")) == 200
        assert await post(*shipped) == 200  # a redelivery
        stale = delivery("msg_3", "invoice.voided", "inv_1", "2026-03-20T10:00:03Z", sent=int(time.time()) - 3600)
        assert await post(*stale) == 401  # outside the 5-minute tolerance
        body, headers = delivery("msg_4", "invoice.voided", "inv_1", "2026-03-20T10:00:03Z")
        assert await post(body.replace(b"voided", b"paid!!"), headers) == 401

        state: dict[str, Any] = {}
        for _ in range(200):
            async with session.get(f"{system.worker_url}/events/acme/inv_1") as response:
                state = await response.json() if response.status == 200 else {}
            if len(state.get("history", [])) == 2:
                break
            await asyncio.sleep(0.3)
    assert (state["id"], state["source"], state["status"]) == ("inv_1", "acme", "invoice.paid")
    assert [e["eventName"] for e in state["history"]] == ["invoice.created", "invoice.paid"]
