"""Hosts apart: ingest and each worker on a host of its own (tests/hosts_fixtures.py: network
namespaces on two bridges, a broker of the test's own on the broker network).

Each worker binds and advertises its own address, and a key is answered on every host (locally
from the owner, forwarded across hosts otherwise).
"""

from __future__ import annotations

import random
import socket
import subprocess
from collections.abc import Callable

import aiohttp
import pytest

from floor.kafka.partitioning import partition_for
from tests.hosts_fixtures import BROKER_NET, SERVICE_NET, Hosts, ip, remove_stale
from tests.kafka_fixtures import Orders, System, all_final, api_headers, owned_by, ready_views, send, until

pytestmark = [pytest.mark.kafka, pytest.mark.hosts, pytest.mark.timeout(600)]
PARTITIONS, ORDERS = 4, 24


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers=api_headers(), timeout=aiohttp.ClientTimeout(total=30))


async def test_workers_on_hosts_of_their_own_answer_every_key_across_hosts(
        hosts: Hosts, run_on_hosts: Callable[..., System]) -> None:
    system = run_on_hosts(workers=2, partitions=PARTITIONS)
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
