"""Losing brokers of the three-node cluster (tests/cluster_fixtures.py) under ingest and the
worker, with the product's defaults (session timeout included):

- the leader of raw partitions is SIGKILLed under steady POST load: every 2xx'd delivery is in
  the log and folded, every refusal is a 503 with Retry-After, at least 90% of the POSTs of the
  30 s run are accepted (a broker's loss costs seconds); the worker folds on while the broker is
  dead and after it returns; live == replay afterwards;
- two of three nodes down: 503, never a 2xx; back: accepted again;
- the worker SIGKILLed mid-load on the cluster: a published state is never newer than what the
  restarted worker restores (BatchWrites sends projections only once the changelog is acked).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest

from hooklog.dev.localcluster import ClusterSpec, kill_node, start_cluster, start_node
from hooklog.dev.simulate import LIFECYCLES, Delivery, lifecycle, post, wait_for_state
from schemas.envelope import decode_envelope
from streams.ops.verify import verify
from tests.cluster_fixtures import leaders
from tests.e2e.test_kill9 import Load, history_never_shrinks, send_paced
from tests.kafka_fixtures import API_TOKEN, SECRET, System, read_topic

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

LOAD_S = 30.0
RATE = 40.0  # POSTs per second
SENDERS = 8


@dataclass
class Answers:
    """Every POST's answer, sent once each (no retry): what a provider's first attempt sees."""

    acked: list[str] = field(default_factory=list)
    refused: list[Delivery] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    without_retry_after: int = 0
    after_kill: list[Delivery] = field(default_factory=list)  # accepted while the killed node was down


def plans_for(rng: random.Random, count: int) -> list[Delivery]:
    """About `count` deliveries of whole order lifecycles, in sending order."""
    start = datetime.now(UTC).replace(microsecond=0)
    deliveries: list[Delivery] = []
    while len(deliveries) < count:
        deliveries.extend(lifecycle(rng.choice(list(LIFECYCLES)), SECRET, start=start))
    return deliveries


async def post_once_paced(url: str, deliveries: list[Delivery], answers: Answers, down: asyncio.Event) -> None:
    """Delivery i leaves at t0 + i / RATE, whichever sender is free; one POST each."""
    queue: asyncio.Queue[tuple[float, Delivery]] = asyncio.Queue()
    t0 = time.monotonic()
    for i, delivery in enumerate(deliveries):
        queue.put_nowait((t0 + i / RATE, delivery))

    async def sender() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                         headers={"Content-Type": "application/json"}) as session:
            while not queue.empty():
                due, delivery = queue.get_nowait()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                async with session.post(url, data=delivery.body) as response:
                    body = await response.read()
                    answers.statuses[str(response.status)] += 1
                    if response.status == 200:
                        answers.acked.append(orjson.loads(body)["id"])
                        if down.is_set():
                            answers.after_kill.append(delivery)
                    else:
                        answers.refused.append(delivery)
                        answers.without_retry_after += "Retry-After" not in response.headers

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def raw_leader(system: System) -> int:
    """The node leading most raw partitions (a partition without a leader is skipped)."""
    led = Counter(n for n in (await leaders(system.settings.kafka_bootstrap_servers, system.settings.topic("raw"))).values()
                  if n >= 0)
    return led.most_common(1)[0][0]


async def redeliver(system: System, deliveries: list[Delivery], timeout_s: float = 90) -> list[str]:
    """A provider's retries: each delivery again until it is acked; the acked ids."""
    deadline, acked = time.monotonic() + timeout_s, []
    async with aiohttp.ClientSession() as session:
        for delivery in deliveries:
            while (answer := await post(session, f"{system.ingest_url}/webhooks/koywe", delivery.body))[0] != 200:
                assert time.monotonic() < deadline, "ingest did not accept the retried deliveries again"
                await asyncio.sleep(0.5)
            acked.append(answer[1]["id"])
    return acked


async def test_the_raw_leaders_death_under_load_costs_seconds_not_deliveries(
        own_topics: None, run_system: Callable[..., System], cluster_up: ClusterSpec, test_seed: int) -> None:
    system = run_system()
    settings = system.settings
    deliveries = plans_for(random.Random(test_seed), int(LOAD_S * RATE))
    answers, down, events = Answers(), asyncio.Event(), []

    async def chaos() -> None:
        await asyncio.sleep(LOAD_S / 4)
        node = await raw_leader(system)
        assert await asyncio.to_thread(kill_node, cluster_up, cluster_up.index_of(node))
        down.set()
        events.append(f"killed node {node} at {LOAD_S / 4:.0f}s")
        await asyncio.sleep(LOAD_S / 3)
        # the worker folds on meanwhile: something accepted after the kill is already queryable
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_TOKEN}"}) as session:
            while not answers.after_kill:
                await asyncio.sleep(0.2)
            seen = answers.after_kill[0]
            assert await wait_for_state(session, system.worker_url, seen.order_id, None, timeout_s=60) is not None
        events.append("folded after the kill")
        await asyncio.to_thread(start_node, cluster_up, cluster_up.index_of(node))
        events.append("node back")

    await asyncio.gather(post_once_paced(f"{system.ingest_url}/webhooks/koywe", deliveries, answers, down), chaos())
    context = f"seed {test_seed}, {events}, answers {dict(answers.statuses)}"
    assert set(answers.statuses) <= {"200", "503"} and answers.without_retry_after == 0, context
    assert len(answers.acked) >= 0.9 * len(deliveries), context
    await redeliver(system, answers.refused)  # the provider retries what was refused

    report = await verify(settings, wait_s=180, api_url=system.worker_url, changelogs=True)
    assert report.differences == [], f"{report.differences[:5]}; {context}"
    raw = Counter(decode_envelope(r.value).id for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"), 60))
    assert all(raw[i] >= 1 for i in answers.acked), context  # every 2xx is in the log, and verify saw it folded
    print(f"\nraw leader killed: {len(deliveries)} POSTs, {dict(answers.statuses)}, {events}")


async def test_two_of_three_nodes_down_is_503_never_2xx_and_back_is_accepted(
        own_topics: None, run_system: Callable[..., System], cluster_up: ClusterSpec) -> None:
    system = run_system("ingest")
    deliveries = plans_for(random.Random(3), 12)
    url = f"{system.ingest_url}/webhooks/koywe"
    async with aiohttp.ClientSession(headers={"Content-Type": "application/json"}) as session:
        status, first = await post(session, url, deliveries[0].body)
        assert status == 200
        for index in (1, 2):
            assert await asyncio.to_thread(kill_node, cluster_up, index)
        for delivery in deliveries[1:6]:
            async with session.post(url, data=delivery.body) as response:
                assert response.status == 503 and "Retry-After" in response.headers, response.status
        await asyncio.to_thread(start_cluster, cluster_up)
    acked = [first["id"], *await redeliver(system, deliveries[1:], timeout_s=120)]
    raw = {decode_envelope(r.value).id for r in
           await read_topic(system.settings.kafka_bootstrap_servers, system.settings.topic("raw"), 60)}
    # every 2xx is stored; a refused POST may be stored too (its record landed once the nodes were
    # back, after ingest had answered 503): the provider's retry is another delivery, folded once
    assert set(acked) <= raw and len(raw) <= len(acked) + 5


async def test_kill_9_of_the_worker_on_the_cluster_never_publishes_past_what_it_restores(
        own_topics: None, run_system: Callable[..., System], cluster_up: ClusterSpec, test_seed: int) -> None:
    system = run_system()
    settings = system.settings
    deliveries = plans_for(random.Random(test_seed), 600)
    load, kills = Load(), []

    async def kill_twice() -> None:
        for moment in (4.0, 9.0):
            await asyncio.sleep(moment - (4.0 if kills else 0.0))
            code = await asyncio.to_thread(system.stop, "worker", signal.SIGKILL)
            assert code == -signal.SIGKILL
            kills.append(moment)
            await asyncio.to_thread(system.start, "worker")

    await asyncio.gather(send_paced(f"{system.ingest_url}/webhooks/koywe", deliveries, load), kill_twice())
    report = await verify(settings, wait_s=180, api_url=system.worker_url, changelogs=True)
    assert report.differences == [], f"{report.differences[:5]}; seed {test_seed}, refused {dict(load.refused)}"
    published = await read_topic(settings.kafka_bootstrap_servers, settings.topic("orders"), 60)
    assert history_never_shrinks(published) == [], f"seed {test_seed}"
    assert len(kills) == 2
