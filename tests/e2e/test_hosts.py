"""Hosts apart: ingest and each worker on a host of its own (tests/hosts_fixtures.py: network
namespaces on two bridges, a broker of the test's own on the broker network).

Each worker binds and advertises its own address, and a key is answered on every host (locally
from the owner, forwarded across hosts otherwise). A worker cut off from the broker, still
reached by clients, refuses every key (503 + Retry-After) within the session timeout while the
other takes its partitions over, updates posted during the cut included; healed, it rejoins
and answers again. It never answers an update's key with the old state. Figures printed (`-s`).
"""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson
import pytest

from floor.kafka.partitioning import partition_for
from hooklog.dev.simulate import post, signed_body
from streams.worker.waiters import holds_delivery
from tests.hosts_fixtures import BROKER_NET, SERVICE_NET, Hosts, ip, remove_stale
from tests.kafka_fixtures import (
    SECRET, Orders, System, all_final, api_headers, get, owned_by, ready_views, send, until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.hosts, pytest.mark.timeout(600)]
PARTITIONS, ORDERS = 4, 24
PEER_SECRET, AUTH_TOKEN = "peer-secret-of-these-hosts", "koywe-callback-token"


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers=api_headers(), timeout=aiohttp.ClientTimeout(total=30))


async def test_workers_on_hosts_of_their_own_answer_every_key_across_hosts(
        hosts: Hosts, run_on_hosts: Callable[..., System]) -> None:
    system = run_on_hosts(workers=2, partitions=PARTITIONS, peer_secret=PEER_SECRET, koywe_auth_tokens=AUTH_TOKEN)
    urls = [system.url_of("w0"), system.url_of("w1")]
    addresses = {system.address(role) for role in ("ingest", "w0", "w1")}
    assert len(addresses) == 3 and all(a.startswith(f"{SERVICE_NET}.") for a in addresses), addresses
    for role in ("ingest", "w0", "w1"):  # only the host's two links: nothing is routed beyond them
        routes = hosts.routes(role)
        assert len(routes) == 2 and all("scope link" in r for r in routes), routes
        assert {r.split(".")[0] + "." + r.split(".")[1] for r in routes} == {SERVICE_NET, BROKER_NET}, routes
    with socket.socket() as probe:  # a worker is on its host only, not on this one's loopback
        assert probe.connect_ex(("127.0.0.1", system.ports["w0"])) != 0

    orders = Orders()
    async with session() as client:
        await send(client, system, orders.add(ORDERS, random.Random(23)))
        views = await until(lambda: ready_views(client, urls), 120, "both workers ready")
        for view, url in zip(views, urls, strict=True):  # each advertises its own host's address
            assert view["worker"] == url and set(view["active"]) == owned_by(views, url)
        assert all(owned_by(views, url) for url in urls)
        final = await until(lambda: all_final(client, urls, orders), 120, "every order final on both hosts")
        crossed = sum(1 for i in final if partition_for(i, PARTITIONS) not in owned_by(views, urls[0]))
        print(f"\n{len(final)} orders answered alike on 2 hosts ({crossed} forwarded across hosts by w0); "
              f"owners {views[0]['owners']}")
        assert crossed > 0
        for order_id in final:  # forwarded or not, the answer says which owner folded how far
            owner = views[0]["owners"][str(partition_for(order_id, PARTITIONS))]
            status, _, headers = await get(client, f"{urls[0]}/orders/{order_id}")
            assert status == 200 and headers["Hooklog-Worker"] == ("w0" if owner == urls[0] else "w1"), headers
            assert headers["Hooklog-Partition"] == str(partition_for(order_id, PARTITIONS))
            assert headers["Hooklog-Lag"] == "0" and int(headers["Hooklog-Offset"]) > 0, headers
        # the callback forwarded with the peer secret (not Koywe's token) to the user's owner on the other host
        email = next(f"user{i}@example.com" for i in range(100)
                     if partition_for(f"user{i}@example.com", PARTITIONS) in owned_by(views, urls[1]))
        async with client.post(f"{urls[0]}/auth/koywe", json={"email": email},
                               headers={"Authorization": f"Bearer {AUTH_TOKEN}"}) as response:
            assert (response.status, await response.read()) == (200, b"false")
            assert response.headers["Hooklog-Worker"] == "w1"


def test_a_crashed_runs_namespaces_and_links_are_removed_at_start(hosts: Hosts) -> None:
    dead = subprocess.Popen(["true"])  # a pid that no longer runs: a crashed pytest's
    dead.wait()
    stale = Hosts(f"hl{dead.pid}x0", hosts.subnet)  # same subnet: it is never brought up
    ip("netns", "add", f"{stale.tag}-w0")
    ip("link", "add", stale.service_bridge, "type", "bridge")
    removed = remove_stale()
    assert set(removed) >= {f"{stale.tag}-w0", stale.service_bridge}, removed
    assert f"{stale.tag}-w0" not in ip("netns", "list") and stale.service_bridge not in ip("-o", "link", "show")
    assert hosts.service_bridge in ip("-o", "link", "show")  # a live run's are kept


@dataclass
class Seen:
    """Every answer one worker gave while polled: (asked at, key, status, body, headers)."""

    answers: list[tuple[float, str, int, bytes, dict[str, str]]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def poll(self, client: aiohttp.ClientSession, url: str, ids: list[str]) -> None:
        while not self.stop.is_set():
            order_id = random.choice(ids)
            asked = time.monotonic()
            try:
                status, body, headers = await get(client, f"{url}/orders/{order_id}")
            except (aiohttp.ClientError, asyncio.TimeoutError):
                status, body, headers = 0, b"", {}
            self.answers.append((asked, order_id, status, body, headers))
            await asyncio.sleep(0.02)


async def refuses_all(client: aiohttp.ClientSession, url: str, ids: list[str]) -> bool:
    got = await asyncio.gather(*(get(client, f"{url}/orders/{i}") for i in ids))
    return all(status == 503 and "Retry-After" in headers for status, _, headers in got)


async def holds(client: aiohttp.ClientSession, url: str, deliveries: dict[str, str]) -> dict[str, bytes] | None:
    """{order id: body} once `url` answers each order 200 with its delivery folded in."""
    got = await asyncio.gather(*(get(client, f"{url}/orders/{i}") for i in deliveries))
    bodies = {i: body for i, (status, body, _) in zip(deliveries, got, strict=True) if status == 200}
    if len(bodies) < len(deliveries) or any(holds_delivery(bodies[i], d) is False for i, d in deliveries.items()):
        return None
    return bodies


async def test_a_worker_cut_off_from_the_broker_never_answers_stale_and_answers_again_once_healed(
        hosts: Hosts, run_on_hosts: Callable[..., System]) -> None:
    system = run_on_hosts(workers=2, partitions=PARTITIONS)  # the default session timeout
    session_s = system.settings.session_timeout_s
    survivor, victim = system.url_of("w0"), system.url_of("w1")
    orders = Orders()
    async with session() as client:
        await send(client, system, orders.add(ORDERS, random.Random(24)))
        views = await until(lambda: ready_views(client, [survivor, victim]), 120, "both workers ready")
        before = await until(lambda: all_final(client, [survivor, victim], orders), 120, "every order final on both")
        victim_ids = [i for i in before if partition_for(i, PARTITIONS) in owned_by(views, victim)]
        assert victim_ids and len(victim_ids) < len(before)

        seen = Seen()
        pollers = [asyncio.create_task(seen.poll(client, victim, list(before))) for _ in range(3)]
        try:
            cut_at = time.monotonic()
            hosts.cut("w1")
            await until(lambda: refuses_all(client, victim, list(before)), session_s + 10, "the cut-off worker refuses")
            refused_s = time.monotonic() - cut_at
            status, body, _ = await get(client, f"{victim}/readyz")
            assert status == 503 and orjson.loads(body)["status"] == "cut_off", body

            # updates to the cut-off worker's keys, posted during the cut (ingest still reaches the broker)
            deliveries, acked = {}, {}
            for n, order_id in enumerate(victim_ids):
                update = signed_body({"eventName": "payment_created", "orderId": order_id,
                                      "timeStamp": f"2026-04-01T10:00:{n:02d}.000Z"}, SECRET)
                status, answer = await post(client, f"{system.ingest_url}/webhooks/koywe", update)
                assert status == 200, answer
                deliveries[order_id], acked[order_id] = answer["id"], time.monotonic()
            after = await until(lambda: holds(client, survivor, deliveries), 120, "the survivor answers the updates")
            takeover_s = time.monotonic() - cut_at
            assert all(after[i] != before[i] for i in victim_ids)

            healed_at = time.monotonic()
            hosts.heal("w1")
            await until(lambda: ready_views(client, [survivor, victim]), 180, "the healed worker rejoined")
            await until(lambda: holds(client, victim, deliveries), 60, "the healed worker answers the updates")
            heal_s = time.monotonic() - healed_at
        finally:
            seen.stop.set()
            await asyncio.gather(*pollers)

    refused_at = cut_at + refused_s
    statuses = Counter(status for _, _, status, _, _ in seen.answers)
    stale = [(round(t - cut_at, 2), i) for t, i, status, body, _ in seen.answers
             if status == 200 and i in deliveries and t >= acked[i] and not holds_delivery(body, deliveries[i])]
    during = Counter(status for t, _, status, _, _ in seen.answers if refused_at <= t < healed_at)
    print(f"\ncut-off worker: every key 503 after {refused_s:.1f} s (session timeout {session_s:g} s); the survivor "
          f"answered its {len(victim_ids)} orders' updates {takeover_s:.1f} s after the cut; healed: answering again "
          f"after {heal_s:.1f} s; its answers {dict(statuses)}, between refusing and the heal {dict(during)}")
    assert stale == [], stale[:5]
    assert set(during) <= {503}, during  # refusing from then on, whatever was posted meanwhile
    assert all("Retry-After" in h for _, _, status, _, h in seen.answers if status == 503)
    assert refused_s <= session_s + 5, f"the cut-off worker answered for {refused_s:.1f} s"
