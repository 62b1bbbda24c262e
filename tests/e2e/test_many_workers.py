"""Many workers, one answer: ingest + 3 `hooklog worker` processes of one group on the real broker
(6 partitions, default failover settings: 10 s session timeout, 1 standby, static worker ids).

Every key answers the same on every worker (local from an active partition, else forwarded once
to its owner); a worker's death is a short 503 for its keys, never a 404 or an old state; the
survivors take over within the target; a restarted worker answers within seconds; a rolling
restart answers only 200 or 503. The figures are printed (`-s`).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson
import pytest

from floor.kafka.partitioning import partition_for
from hooklog.dev.simulate import post, signed_body
from tests.kafka_fixtures import (
    SECRET, Orders, System, all_final, answers, api_headers, get, hooklog, owned_by, ready_views, send, until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]
PARTITIONS, ORDERS = 6, 60
TAKEOVER_TARGET_S, RESTART_TARGET_S = 15.0, 10.0  # issue 11's targets, printed beside what was seen
SLACK = 2.0  # asserted bound = target x SLACK: the machine is shared; the figures are printed (and in bench failover)
AUTH_TOKEN = "callback-token"


@dataclass
class Watch:
    """Polls keys on live workers while something happens; tallies every answer."""

    statuses: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # a 200 whose body is not the known final state
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def poll(self, session: aiohttp.ClientSession, urls: Callable[[], list[str]], final: dict[str, bytes]) -> None:
        ids = list(final)
        while not self.stop.is_set():
            url, order_id = random.choice(urls()), random.choice(ids)
            try:
                status, body, headers = await get(session, f"{url}/orders/{order_id}")
            except aiohttp.ClientConnectionError:
                self.statuses["connection refused (worker restarting)"] += 1
                continue
            if status == 503:
                assert "Retry-After" in headers, headers
                self.statuses[f"503 {orjson.loads(body)['error']}"] += 1
            else:
                self.statuses[str(status)] += 1
            if status == 200 and body != final[order_id]:
                self.wrong.append(f"{url} {order_id}: {body[:120]!r}")
            await asyncio.sleep(0.01)


async def load(session: aiohttp.ClientSession, system: System, orders: Orders, stop: asyncio.Event, rng: random.Random) -> None:
    """New orders through ingest, a few per second, until stopped (ingest never stops here)."""
    while not stop.is_set():
        await send(session, system, orders.add(1, rng))
        await asyncio.sleep(0.2)



async def test_three_workers_answer_every_key_and_take_over_from_a_killed_one(
        own_topics: None, run_system: Callable[..., System]) -> None:
    rng = random.Random(11)
    system = run_system(workers=3, partitions=PARTITIONS, koywe_auth_tokens=AUTH_TOKEN)
    urls = [system.url_of(f"w{i}") for i in range(3)]
    orders = Orders()
    async with aiohttp.ClientSession(headers=api_headers(), timeout=aiohttp.ClientTimeout(total=30)) as session:
        deliveries = orders.add(ORDERS, rng)
        assert {partition_for(i, PARTITIONS) for i in orders.plans} == set(range(PARTITIONS))
        await send(session, system, deliveries)

        # one assignment seen by all, every partition active on exactly one worker (the group's metadata)
        views = await until(lambda: ready_views(session, urls), 120, "all workers ready")
        assert sorted(views[0]["owners"]) == [str(p) for p in range(PARTITIONS)]
        for view, url in zip(views, urls, strict=True):
            assert view["worker"] == url and set(view["active"]) == owned_by(views, url)
        assert all(owned_by(views, url) for url in urls)  # 6 partitions over 3 workers: each owns some

        final = await until(lambda: all_final(session, urls, orders), 120, "every order final on every worker")
        print(f"\n{len(final)} orders: the same 200 body on each of {len(urls)} workers; owners {views[0]['owners']}")

        # ?delivery= on a non-owner: forwarded to the owner, which answers once it folded it
        elapsed = []
        for n in range(6):  # new orders, so the 60 above stay as they are
            order_id = f"probe-{n}-{uuid.uuid4().hex[:8]}"
            owner = views[0]["owners"][str(partition_for(order_id, PARTITIONS))]
            other = next(u for u in urls if u != owner)
            body = signed_body({"eventName": "payment_created", "orderId": order_id,
                                "timeStamp": "2026-03-20T09:00:00.000Z"}, SECRET)
            status, answer = await post(session, f"{system.ingest_url}/webhooks/koywe", body)
            assert status == 200
            began = time.monotonic()
            status, state, _ = await get(session, f"{other}/orders/{order_id}?delivery={answer['id']}&wait=10")
            elapsed.append(time.monotonic() - began)
            assert status == 200 and answer["id"] in {e["deliveryId"] for e in orjson.loads(state)["history"]}
        print(f"?delivery= on a non-owner answered in {', '.join(f'{s * 1000:.0f}' for s in elapsed)} ms")
        assert max(elapsed) < 10  # answered, not timed out (the figure: under a second, printed above)

        # the auth callback on a non-owner of the user: true for a verified user, false for a stranger
        email = next(f"user{i}@example.com" for i in range(100) if partition_for(f"user{i}@example.com", PARTITIONS)
                     in owned_by(views, urls[0]))
        verified = signed_body({"eventName": "verification_completed", "email": email.upper(), "status": "verified",
                                "timeStamp": "2026-03-20T10:00:00.000Z"}, SECRET)
        assert (await post(session, f"{system.ingest_url}/webhooks/koywe", verified))[0] == 200
        await until(lambda: _kyc_on(session, urls[0], email), 60, "the user's KYC on its owner")
        callback = {"Authorization": f"Bearer {AUTH_TOKEN}"}
        for url in urls[1:]:
            async with session.post(f"{url}/auth/koywe", json={"email": email}, headers=callback) as response:
                assert (response.status, await response.read()) == (200, b"true"), url
            async with session.post(f"{url}/auth/koywe", json={"email": "nobody@example.com"}, headers=callback) as response:
                assert (response.status, await response.read()) == (200, b"false"), url

        # kill -9 one worker under load: its keys are 503 on the survivors, then right, never 404 or old
        victim, survivors = urls[1], [urls[0], urls[2]]
        victim_ids = [i for i in final if partition_for(i, PARTITIONS) in owned_by(views, victim)]
        watch, stop_load = Watch(), asyncio.Event()
        pollers = [asyncio.create_task(watch.poll(session, lambda: survivors, {i: final[i] for i in victim_ids}))
                   for _ in range(4)]
        sender = asyncio.create_task(load(session, system, orders, stop_load, rng))
        await asyncio.sleep(1.0)  # the load runs before the kill
        killed_at = time.monotonic()
        assert system.stop("w1", signal.SIGKILL) == -signal.SIGKILL

        async def taken_over() -> bool:
            for url in survivors:
                got = await answers(session, url, victim_ids)
                if any(status != 200 or body != final[i] for i, (status, body) in got.items()):
                    return False
            return True

        await until(taken_over, 90, "the survivors answer the dead worker's keys")
        takeover_s = time.monotonic() - killed_at
        await asyncio.sleep(1.0)
        watch.stop.set()
        await asyncio.gather(*pollers)
        stop_load.set()
        await sender
        print(f"kill -9 of one of 3 workers: survivors answered its {len(victim_ids)} orders after {takeover_s:.1f} s "
              f"(target {TAKEOVER_TARGET_S:.0f} s, session timeout 10 s); answers meanwhile {dict(watch.statuses)}")
        assert watch.wrong == [], watch.wrong[:5]
        assert set(watch.statuses) <= {"200"} | {s for s in watch.statuses if s.startswith("503 ")}, watch.statuses
        assert any(s.startswith("503 ") for s in watch.statuses)  # the dead owner's keys were refused a while
        assert takeover_s <= TAKEOVER_TARGET_S * SLACK, f"takeover took {takeover_s:.1f} s"

        # new events were folded: the orders sent under load end final on both survivors; verify is clean
        final = await until(lambda: all_final(session, survivors, orders), 120, "orders sent under load folded")
        done = hooklog(system.settings, "verify", "--api", "--worker-url", survivors[0], "--wait", "60")
        assert done.returncode == 0, done.stdout + done.stderr

        # a single worker kill -9'd and restarted at once (same worker id: a static member) answers every key
        assert system.stop("w2", signal.SIGKILL) == -signal.SIGKILL
        system.start("w2", wait=False)
        restarted_at = time.monotonic()
        await until(lambda: all_final(session, [urls[2]], orders), 120, "the restarted worker answers every key")
        restart_s = time.monotonic() - restarted_at
        print(f"kill -9 + restart of one worker: it answered all {len(final)} orders {restart_s:.1f} s after its "
              f"restart (target {RESTART_TARGET_S:.0f} s)")
        assert restart_s <= RESTART_TARGET_S * SLACK, f"the restarted worker took {restart_s:.1f} s"


async def _kyc_on(session: aiohttp.ClientSession, url: str, email: str) -> bool:
    status, body, _ = await get(session, f"{url}/kyc/{email}")
    return status == 200 and orjson.loads(body)["kyc"] == "verified"


async def test_a_rolling_restart_answers_only_200_or_503(own_topics: None, run_system: Callable[..., System]) -> None:
    rng = random.Random(12)
    system = run_system(workers=3, partitions=PARTITIONS)
    names = ["w0", "w1", "w2"]
    urls = [system.url_of(n) for n in names]
    orders = Orders()
    async with aiohttp.ClientSession(headers=api_headers(), timeout=aiohttp.ClientTimeout(total=30)) as session:
        await send(session, system, orders.add(ORDERS, rng))
        await until(lambda: ready_views(session, urls), 120, "all workers ready")
        final = await until(lambda: all_final(session, urls, orders), 120, "every order final on every worker")
        watch, stop_load, live = Watch(), asyncio.Event(), set(urls)
        pollers = [asyncio.create_task(watch.poll(session, lambda: sorted(live), final)) for _ in range(4)]
        sender = asyncio.create_task(load(session, system, orders, stop_load, rng))
        began = time.monotonic()
        for name, url in zip(names, urls, strict=True):
            live.discard(url)
            assert await asyncio.to_thread(system.stop, name) == 0  # in a thread: the pollers keep polling
            await asyncio.to_thread(system.start, name)  # back once its /readyz says ready
            live.add(url)
            await until(lambda: ready_views(session, urls), 120, f"the group settled after restarting {name}")
        watch.stop.set()
        await asyncio.gather(*pollers)
        stop_load.set()
        await sender
        print(f"\nrolling restart of 3 workers in {time.monotonic() - began:.0f} s; answers {dict(watch.statuses)}")
        assert watch.wrong == [], watch.wrong[:5]
        assert {s for s in watch.statuses if not s.startswith("503 ")} <= {"200", "connection refused (worker restarting)"}
        await until(lambda: all_final(session, urls, orders), 120, "orders sent under load folded")
        done = hooklog(system.settings, "verify", "--api", "--worker-url", urls[0], "--wait", "60")
        assert done.returncode == 0, done.stdout + done.stderr
