"""Kill -9 under load: signed Koywe webhooks keep coming through a real `hooklog ingest` while
the worker is SIGKILLed several times and ingest once, each restarted at once; the client
retries every non-2xx and every connection error, like a provider.

Afterwards: `verify` finds no difference (projection topics, the worker's table changelogs,
alerts, DLQ and the query API), every acked
delivery id is on the raw topic exactly once, every order is in its final state, and no state
published for an aggregate ever lost an event it had (a restored table never went backwards).

`HOOKLOG_SOAK_SECONDS=600` turns it into a soak: ten minutes of load, a kill every ~12 s.
The schedule (orders, arrival order, kill moments) comes from the `test_seed` fixture: printed at
the start and in the failure report; `HOOKLOG_TEST_SEED=<seed>` (or `--seed <seed>`) replays it.
"""

from __future__ import annotations

import asyncio
import os
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

from hooklog.dev.simulate import FINAL_STATE, LIFECYCLES, Delivery, lifecycle, scramble
from schemas.envelope import decode_envelope
from streams.ops.verify import verify
from tests.kafka_fixtures import SECRET, System, read_topic

SOAK_S = float(os.environ.get("HOOKLOG_SOAK_SECONDS", "0"))
LOAD_S = SOAK_S or 30.0
RATE = 45.0  # requests per second
SENDERS = 8
WORKER_KILLS = max(3, round(LOAD_S / 12))
# The broker drops a SIGKILLed member only when its session expires; Faust's default (60 s) would
# stall every restart for a minute, so the worker runs with the broker's minimum (6 s).

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(int(LOAD_S * 4 + 300))]


@dataclass
class Load:
    acked: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # non-2xx / connection errors, retried


async def deliver(session: aiohttp.ClientSession, url: str, delivery: Delivery, load: Load) -> None:
    """POST until a 200 with an id, like a provider's retries (short back-off, capped)."""
    pause = 0.05
    while True:
        try:
            async with session.post(url, data=delivery.body, headers={"Content-Type": "application/json"}) as response:
                body = await response.read()
                if response.status == 200:
                    load.acked.append(orjson.loads(body)["id"])
                    return
                load.refused[str(response.status)] += 1
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            load.refused[type(exc).__name__] += 1
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)


async def send_paced(url: str, deliveries: list[Delivery], load: Load) -> None:
    """Delivery i leaves at t0 + i / RATE, whichever of the senders is free."""
    queue: asyncio.Queue[tuple[float, Delivery]] = asyncio.Queue()
    t0 = time.monotonic()
    for i, delivery in enumerate(deliveries):
        queue.put_nowait((t0 + i / RATE, delivery))

    async def sender() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not queue.empty():
                due, delivery = queue.get_nowait()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await deliver(session, url, delivery, load)

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def chaos(system: System, rng: random.Random, kills: list[str], seed: int) -> None:
    """SIGKILL the worker WORKER_KILLS times and ingest once, at random moments, restarting each at once."""
    moments = sorted(rng.uniform(2.0, LOAD_S - 3.0) for _ in range(WORKER_KILLS + 1))
    roles = ["worker"] * WORKER_KILLS + ["ingest"]
    rng.shuffle(roles)
    t0 = time.monotonic()
    for moment, role in zip(moments, roles, strict=True):
        await asyncio.sleep(max(0.0, t0 + moment - time.monotonic()))
        code = await asyncio.to_thread(system.stop, role, signal.SIGKILL)
        assert code == -signal.SIGKILL, f"{role} was not running (exit {code}); seed {seed}"
        kills.append(f"{role}@{time.monotonic() - t0:.1f}s")
        await asyncio.to_thread(system.start, role)


def history_never_shrinks(records: list[object]) -> list[str]:
    """Aggregates whose published states lost an event they had before (a table restored short)."""
    seen: dict[bytes, set[str]] = {}
    regressions = []
    for record in records:
        if record.value is None:  # type: ignore[attr-defined]
            continue
        ids = {e["eventId"] for e in orjson.loads(record.value)["history"]}  # type: ignore[attr-defined]
        before = seen.get(record.key, set())  # type: ignore[attr-defined]
        if not before <= ids:
            regressions.append(record.key.decode())  # type: ignore[attr-defined]
        seen[record.key] = before | ids  # type: ignore[attr-defined]
    return regressions


async def test_kill_9_under_load_loses_nothing_and_verify_is_clean(
    own_topics: None, run_system: Callable[..., System], test_seed: int
) -> None:
    began = time.monotonic()
    rng = random.Random(test_seed)
    system = run_system()  # the product's defaults: what users run (session timeout included)
    settings = system.settings

    kinds = list(LIFECYCLES)
    start = datetime.now(UTC).replace(microsecond=0)
    plans: list[tuple[str, list[Delivery]]] = []
    deliveries: list[Delivery] = []
    while len(deliveries) < LOAD_S * RATE:
        kind = rng.choice(kinds)
        plan = lifecycle(kind, SECRET, start=start)
        plans.append((kind, plan))
        deliveries.extend(scramble(plan, rng, duplicates=0.3))
    load, kills = Load(), []
    await asyncio.gather(send_paced(f"{system.ingest_url}/webhooks/koywe", deliveries, load), chaos(system, rng, kills, test_seed))
    context = f"seed {test_seed}, kills {kills}, refused {dict(load.refused)}"
    assert sorted(k.partition("@")[0] for k in kills) == ["ingest"] + ["worker"] * WORKER_KILLS, context

    # the worker catches up: topics, changelogs, alerts, DLQ and its query API equal a replay of the log
    report = await verify(settings, wait_s=180, api_url=system.worker_url, changelogs=True)
    assert report.differences == [], f"{len(report.differences)} differences, first {report.differences[:5]}; {context}"

    # every acked delivery is on the raw topic exactly once; nothing is stored twice
    raw = Counter(decode_envelope(r.value).id for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"), 60))
    assert len(load.acked) == len(deliveries) == len(set(load.acked)), context
    assert all(raw[i] == 1 for i in load.acked) and max(raw.values()) == 1, context
    # stored but never acked (ingest died mid-request, or answered 503 after its deadline while the
    # idempotent producer still got the record in): the provider retried; folded once all the same
    unacked = set(raw) - set(load.acked)
    assert len(unacked) <= SENDERS + load.refused["503"], context

    # every order ended in its lifecycle's final state, with each distinct event once, in event-time order
    states = report.replayed.state_json()["orders"]
    for kind, plan in plans:
        state = orjson.loads(states[plan[0].order_id])
        assert state["state"] == FINAL_STATE[kind], (kind, state["state"], context)
        assert [e["eventName"] for e in state["history"]] == [d.event_name for d in plan], context

    # restarts re-processed events: republished states never went backwards, alerts kept their ids
    published = await read_topic(settings.kafka_bootstrap_servers, settings.topic("orders"), 60)
    assert history_never_shrinks(published) == [], context
    alerts = Counter(r.key for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("alerts"), 60))
    assert {k.decode() for k in alerts} == set(report.replayed.alert_json()), context
    print(f"\nkill -9: {len(deliveries)} deliveries ({len(raw)} stored, {len(unacked)} unacked), {len(plans)} orders, "
          f"kills {kills}, refused {dict(load.refused)}, {len(published)} states published for {len(states)} orders, "
          f"{sum(alerts.values()) - len(alerts)} alert re-emissions, verify rounds {report.rounds}, "
          f"{time.monotonic() - began:.0f}s; {context}")
