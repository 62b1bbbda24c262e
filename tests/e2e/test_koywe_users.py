"""End to end: a KYC flow, a deposit without an order, the auth callback, alerts and the DLQ."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from hooklog.dev.simulate import post, signed_body
from tests.kafka_fixtures import SECRET, System, api_headers

pytestmark = pytest.mark.kafka
USER = "Ana.Perez@Example.com"
TOKEN = "koywe-callback-token"


def user_event(name: str, second: int, **extra: Any) -> bytes:
    return signed_body({"eventName": name, "email": USER, "timeStamp": f"2026-03-20T10:00:{second:02d}.000Z", **extra}, SECRET)


async def get_json(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(kwargs.pop("method", "GET"), url, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def wait_until(check: Callable[[], Any], timeout_s: float = 60) -> Any:
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.3)
    raise AssertionError("condition not met in time")


async def test_kyc_review_flow_deposit_and_auth_callback(run_system: Callable[..., System]) -> None:
    system = run_system(koywe_auth_tokens=f"old-callback-token-1,{TOKEN}")
    bodies = [
        user_event("verification_completed", 3, status="verified"),  # the manual review's outcome, first to arrive
        user_event("verification_started", 0),
        user_event("verification_completed", 2, status="reviewNeeded"),
        user_event("verification_inputs_completed", 1),
        user_event("deposit_without_order", 4, amount=250000, currency="CLP", depositId="dep-1"),
        user_event("deposit_without_order", 4, amount=250000, currency="CLP", depositId="dep-1"),  # twice
    ]
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        callback = f"{system.worker_url}/auth/koywe"
        status, answer = await get_json(session, callback, method="POST", json={"email": USER},
                                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert (status, answer) == (200, False)  # unknown user: not allowed
        for body in bodies:
            assert (await post(session, f"{system.ingest_url}/webhooks/koywe", body))[0] == 200

        async def user_state() -> Any:
            status, state = await get_json(session, f"{system.worker_url}/kyc/{USER}")
            return state if status == 200 and len(state["history"]) == 5 else None

        state = await wait_until(user_state)
        assert state["userId"] == USER.lower() and state["kyc"] == "verified"
        assert [d["amount"] for d in state["deposits"]] == ["250000"]

        status, answer = await get_json(session, callback, method="POST", json={"email": USER.upper()},
                                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert (status, answer) == (200, True)
        status, answer = await get_json(session, callback, method="POST", json={"email": USER},
                                        headers={"Authorization": "Bearer wrong"})
        assert status == 401 and answer["error"] == "bad_token"
        for _ in range(10):  # guessing costs: past the burst, 429 + Retry-After; the right token still works
            status, answer = await get_json(session, callback, method="POST", json={"email": USER},
                                            headers={"Authorization": "Bearer still-wrong"})
            if status == 429:
                break
        assert status == 429 and answer["error"] == "failed_tokens_limited", (status, answer)
        status, answer = await get_json(session, callback, method="POST", json={"email": USER},
                                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert (status, answer) == (200, True)
        status, _ = await get_json(session, callback, method="POST", data=b"[]",
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 400

        async def alerts() -> Any:
            status, page = await get_json(session, f"{system.worker_url}/alerts?since=2020-01-01T00:00:00Z")
            return page if status == 200 and page["count"] == 2 else None

        page = await wait_until(alerts)
        assert sorted(a["type"] for a in page["items"]) == ["deposit_without_order", "kyc_review_needed"]
        status, deposits = await get_json(session, f"{system.worker_url}/alerts?type=deposit_without_order")
        assert status == 200 and [a["details"]["amount"] for a in deposits["items"]] == ["250000"]
        status, bad = await get_json(session, f"{system.worker_url}/alerts?limit=0")
        assert status == 400 and "limit" in bad["detail"]
        status, missing = await get_json(session, f"{system.worker_url}/kyc/nobody@example.com")
        assert status == 404


async def test_dead_letters_are_listed_with_their_reason(run_system: Callable[..., System]) -> None:
    system = run_system()
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        bad = user_event("verification_completed", 1, status="perhaps")
        assert (await post(session, f"{system.ingest_url}/webhooks/koywe", bad))[0] == 200

        async def dead() -> Any:
            status, page = await get_json(session, f"{system.worker_url}/dlq")
            return page if status == 200 and page["count"] == 1 else None

        (item,) = (await wait_until(dead))["items"]
    assert "verified, reviewNeeded or rejected" in item["reason"]
    assert item["eventName"] == "verification_completed" and item["aggregateId"] == USER.lower()
    assert '"status":"perhaps"' in item["original"]
