"""Freshness on the real broker: every state answer says its partition, the offset its state has
folded up to, the lag and the worker; ingest's position, `?min_position=` and `?max_lag=` hold an
answer to it. The worker waits up to 8 s to fill a batch (HOOKLOG_FOLD_BATCH_WITHIN), so a record
just stored is fetched (the end offset moves) but not folded yet for a few seconds: the state is
behind by a known record, deterministically."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import aiohttp
import orjson
import pytest

from floor.kafka.partitioning import partition_for
from hooklog.dev.simulate import post, signed_body
from schemas.koywe_users import user_key
from tests.kafka_fixtures import SECRET, System, api_headers, get, until

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]
PARTITIONS, AUTH_TOKEN = 2, "freshness-callback-token"


async def test_every_state_answer_says_how_fresh_it_is_and_min_position_and_max_lag_hold_it(
        own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system(partitions=PARTITIONS, fold_batch_within=8.0, koywe_auth_tokens=AUTH_TOKEN)
    url, order_id = system.worker_url, f"fresh-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession(headers=api_headers(), timeout=aiohttp.ClientTimeout(total=40)) as client:
        body = signed_body({"eventName": "payment_created", "orderId": order_id,
                            "timeStamp": "2026-03-20T09:00:00.000Z"}, SECRET)
        status, stored = await post(client, f"{system.ingest_url}/webhooks/koywe", body)
        assert status == 200 and stored["position"].count(":") == 1, stored
        partition, offset = map(int, stored["position"].split(":"))
        assert partition == partition_for(order_id, PARTITIONS)
        position = stored["position"]

        # stored, not folded yet: min_position without a wait is 404 not_folded; max_lag=0 is 503 once fetched
        status, answer, headers = await get(client, f"{url}/orders/{order_id}?min_position={position}&wait=0")
        assert (status, orjson.loads(answer)["error"]) == (404, "not_folded"), answer
        assert int(headers["Hooklog-Offset"]) <= offset

        async def refused_behind() -> dict[str, str] | None:
            status, answer, headers = await get(client, f"{url}/orders/{order_id}?max_lag=0")
            return headers if status == 503 and orjson.loads(answer)["error"] == "too_far_behind" else None

        behind = await until(refused_behind, 7, "max_lag=0 refused while the record waits to be folded")
        assert behind["Retry-After"] == "1" and int(behind["Hooklog-Lag"]) >= 1, behind

        began = time.monotonic()
        status, answer, headers = await get(client, f"{url}/orders/{order_id}?min_position={position}&wait=20")
        waited = time.monotonic() - began
        assert status == 200 and stored["id"] in answer.decode(), answer
        assert headers["Hooklog-Partition"] == str(partition) and int(headers["Hooklog-Offset"]) > offset
        assert headers["Hooklog-Lag"] == "0" and headers["Hooklog-Worker"] == url, headers
        status, _, headers = await get(client, f"{url}/orders/{order_id}?max_lag=0")
        assert status == 200 and headers["Hooklog-Lag"] == "0"
        status, answer, _ = await get(client, f"{url}/orders/{order_id}?min_position={partition}:{offset + 5}&wait=0.5")
        assert (status, orjson.loads(answer)["error"]) == (404, "not_folded")  # a position not written yet
        other = 1 - partition
        status, answer, _ = await get(client, f"{url}/orders/{order_id}?min_position={other}:0")
        assert status == 400, answer  # another partition's position says nothing of this key
        print(f"\n?min_position= answered {waited:.1f} s after asking (the batch wait is 8 s)")

        # every state answer, found or not, carries them: the key's partition on each endpoint
        for path, key in ((f"/kyc/Nobody-{order_id}@Example.com", user_key(f"nobody-{order_id}@example.com")),
                          (f"/kuenta/credit/{order_id}", order_id), (f"/koywe-payments/orders/{order_id}", order_id),
                          (f"/events/acme/{order_id}", f"acme:{order_id}"), (f"/orders/{order_id}", order_id)):
            status, _, headers = await get(client, f"{url}{path}")
            assert status in (200, 404) and headers["Hooklog-Partition"] == str(partition_for(key, PARTITIONS)), path
            assert {"Hooklog-Offset", "Hooklog-Lag", "Hooklog-Worker"} <= set(headers), (path, headers)
        async with client.post(f"{url}/auth/koywe", json={"email": f"nobody-{order_id}@example.com"},
                               headers={"Authorization": f"Bearer {AUTH_TOKEN}"}) as response:
            assert response.status == 200 and "Hooklog-Offset" in response.headers
            assert response.headers["Hooklog-Partition"] == str(partition_for(user_key(f"nobody-{order_id}@example.com"),
                                                                               PARTITIONS))
