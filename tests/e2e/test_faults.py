"""Faults: the broker goes away under load, and ingest and the worker are stopped with SIGTERM.

- Broker down (a private one, stopped and restarted with the project's own functions): ingest
  answers 503 + Retry-After while it is down and recovers by itself, the worker resumes, and a
  client that retries every non-2xx ends with every event stored once and folded once.
- SIGTERM to ingest under load: every request it had accepted gets its answer (a body still
  arriving included), a 2xx only if stored, and it exits 0.
- SIGTERM to the worker: it commits what it folded and exits 0; a restart re-folds nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import pytest

from floor.settings import Settings
from hooklog.dev.localkafka import BrokerSpec, ensure_broker, stop_broker
from hooklog.dev.simulate import FINAL_STATE, LIFECYCLES, Delivery, lifecycle, scramble, wait_for_state
from ingest.senders.signatures import signed_koywe_body
from schemas.envelope import decode_envelope
from streams.ops.verify import verify
from tests.conftest import T0
from tests.kafka_fixtures import API_TOKEN, committed_offsets, SECRET, System, api_headers, caught_up, metrics_of, read_topic, samples

pytestmark = pytest.mark.kafka
JSON = {"Content-Type": "application/json"}
FAST_REJOIN = {"BROKER_SESSION_TIMEOUT": "6", "BROKER_HEARTBEAT_INTERVAL": "1"}
#: How a client sees an ingest that is draining: 503 on a kept-alive connection, or no connection.
REFUSED = ("503 shutting_down", "ClientConnectorError", "ServerDisconnectedError", "ClientOSError")


@dataclass
class Outage:
    down_at: float | None = None  # stop_broker returned: the broker process is gone
    restart_at: float | None = None  # ensure_broker called: it may answer from now on
    up_at: float | None = None  # ensure_broker returned
    acked: list[tuple[str, float, float]] = field(default_factory=list)  # (id, sent, answered)
    refused: Counter[str] = field(default_factory=Counter)
    retry_after_missing: int = 0
    not_ready_seen: bool = False

    def during(self, moment: float) -> bool:
        """Surely down: after the stop returned, before the restart began."""
        return self.down_at is not None and moment >= self.down_at and (self.restart_at is None or moment < self.restart_at)


async def deliver(session: aiohttp.ClientSession, url: str, body: bytes, outage: Outage, give_up_at: float) -> None:
    """A provider: retry every non-2xx and every connection error until a 2xx (or `give_up_at`)."""
    while time.monotonic() < give_up_at:
        sent = time.monotonic()
        try:
            async with session.post(url, data=body, headers=JSON) as response:
                answer = await response.read()
                if response.status == 200:
                    outage.acked.append((orjson.loads(answer)["id"], sent, time.monotonic()))
                    return
                outage.refused[f"{response.status} {'down' if outage.during(time.monotonic()) else 'up'}"] += 1
                if response.status == 503 and "Retry-After" not in response.headers:
                    outage.retry_after_missing += 1
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            outage.refused[type(exc).__name__] += 1
        await asyncio.sleep(0.2)  # shorter than Retry-After: the test has no time to wait politely


async def wait_for_history(session: aiohttp.ClientSession, worker_url: str, plan: list[Delivery],
                           timeout_s: float = 120) -> dict:
    """The order's state once its history holds as many events as the plan (or the last seen)."""
    deadline = time.monotonic() + timeout_s
    state: dict = {}
    while time.monotonic() < deadline:
        state = await wait_for_state(session, worker_url, plan[0].order_id, None, timeout_s=10, token=API_TOKEN) or {}
        if len(state.get("history", [])) >= len(plan):
            break
        await asyncio.sleep(0.2)
    return state


@pytest.mark.timeout(400)
async def test_broker_down_under_load_503_then_recovery_and_nothing_lost(
    private_broker: BrokerSpec, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(kafka_bootstrap_servers=private_broker.bootstrap, produce_timeout_s=2.0, retry_after_s=1,
                             ready_cache_s=0)
    system = System(settings, tmp_path)
    system.env_overrides.update(FAST_REJOIN)
    rng = random.Random(6)
    plans = [(kind, lifecycle(kind, SECRET, start=T0)) for kind in LIFECYCLES for _ in range(5)]
    deliveries: list[Delivery] = [d for _, plan in plans for d in scramble(plan, rng, duplicates=0.3)]
    rng.shuffle(deliveries)
    outage = Outage()
    url = f"{system.ingest_url}/webhooks/koywe"
    try:
        system.start("ingest")
        system.start("worker")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            queue = list(deliveries)
            give_up_at = time.monotonic() + 120  # ingest must have recovered long before

            async def sender() -> None:
                while queue:
                    await deliver(session, url, queue.pop().body, outage, give_up_at)
                    await asyncio.sleep(0.1)

            async def chaos() -> None:
                working_by = time.monotonic() + 60  # under load first: ingest acking, the worker folding
                while len(outage.acked) < 20 or not samples(await metrics_of(session, system.worker_url),
                                                             "hooklog_worker_events_folded_total"):
                    assert time.monotonic() < working_by, f"worker or ingest not working before the outage: {outage}"
                    await asyncio.sleep(0.1)
                await asyncio.to_thread(stop_broker, private_broker)
                outage.down_at = time.monotonic()
                while sum(n for k, n in outage.refused.items() if k.startswith("503 down")) < 10:
                    await asyncio.sleep(0.1)
                async with session.get(f"{system.ingest_url}/readyz") as ready:
                    outage.not_ready_seen = ready.status == 503
                outage.restart_at = time.monotonic()
                await asyncio.to_thread(ensure_broker, private_broker)
                outage.up_at = time.monotonic()

            await asyncio.gather(chaos(), *(sender() for _ in range(4)))
            recovered_after = min(answered for _, sent, answered in outage.acked if outage.up_at and answered >= outage.up_at) - (outage.up_at or 0)

            deadline = time.monotonic() + 120
            for kind, plan in plans:  # the worker resumed: every order final, each event folded once
                state = await wait_for_history(session, system.worker_url, plan, max(1.0, deadline - time.monotonic()))
                assert state["state"] == FINAL_STATE[kind]
                assert [e["eventName"] for e in state["history"]] == [d.event_name for d in plan]
        report = await verify(settings, wait_s=120, api_url=system.worker_url)
    finally:
        for role in list(system.procs):
            system.stop(role)
    raw = Counter(decode_envelope(r.value).id for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"), 60))
    acked = [i for i, _, _ in outage.acked]
    during = [i for i, _, answered in outage.acked if outage.during(answered)]  # a 2xx needs a broker's ack
    lost = [i for i in acked if raw[i] == 0]
    assert outage.down_at and outage.up_at
    print(f"\nbroker outage: down {outage.up_at - outage.down_at:.1f}s; {len(deliveries)} deliveries, "
          f"{len(acked)} acked, {len(raw)} stored ({len(raw) - len(acked)} stored after a 503: retried, folded once); "
          f"acked during outage {len(during)}, lost {len(lost)}; "
          f"refused {dict(outage.refused)}; first 2xx {recovered_after:.2f}s after the broker was back; "
          f"verify rounds {report.rounds}, lag {report.lag}")
    assert during == [] and lost == []
    assert outage.retry_after_missing == 0 and outage.not_ready_seen
    assert len(acked) == len(deliveries) and max(raw.values()) == 1
    assert report.differences == [], report.differences[:5]


@pytest.mark.timeout(300)
async def test_sigterm_to_ingest_under_load_answers_what_it_accepted_and_exits_0(run_system: Callable[..., System]) -> None:
    system = run_system("ingest", body_timeout_s=10.0)
    port = system.settings.ingest_port
    bodies = (d.body for kind in itertools.cycle(LIFECYCLES) for d in lifecycle(kind, SECRET, start=T0))
    acked: list[str] = []
    outcomes: Counter[str] = Counter()
    stop = asyncio.Event()

    async def client(session: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            try:
                async with session.post(f"{system.ingest_url}/webhooks/koywe", data=next(bodies), headers=JSON) as response:
                    answer = orjson.loads(await response.read())
                    outcomes[f"{response.status} {answer.get('error', '')}".strip()] += 1
                    if response.status == 200:
                        acked.append(answer["id"])
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # refused once the listener closed
                outcomes[type(exc).__name__] += 1
                await asyncio.sleep(0.05)

    async def half_sent(body: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (f"POST /webhooks/koywe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        writer.write(head + body[:10])
        await writer.drain()
        return reader, writer

    slow_bodies = [next(bodies) for _ in range(3)]
    async with aiohttp.ClientSession() as session:
        clients = [asyncio.create_task(client(session)) for _ in range(16)]
        while len(acked) < 200:
            await asyncio.sleep(0.05)
        slow = [await half_sent(body) for body in slow_bodies]  # in flight: headers read, body arriving
        await asyncio.sleep(0.3)
        refused_before = sum(outcomes[k] for k in REFUSED)
        system.procs["ingest"].send_signal(signal.SIGTERM)
        draining_by = time.monotonic() + 30
        while sum(outcomes[k] for k in REFUSED) == refused_before:  # ingest refuses new requests: it is draining
            assert time.monotonic() < draining_by, f"ingest did not start draining on SIGTERM: {dict(outcomes)}"
            await asyncio.sleep(0.05)
        # the rest of each slow body arrives now, after the signal
        slow_answers = []
        for (reader, writer), body in zip(slow, slow_bodies, strict=True):
            writer.write(body[10:])
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            head, _, payload = raw.partition(b"\r\n\r\n")
            slow_answers.append(int(head.split()[1]))
            if head.startswith(b"HTTP/1.1 200"):
                acked.append(orjson.loads(payload)["id"])
        code = await asyncio.to_thread(system.procs["ingest"].wait, 60)  # generous: "it exits", not "fast"
        stop.set()
        await asyncio.gather(*clients)
    system.procs.pop("ingest")
    settings = system.settings
    stored = Counter(decode_envelope(r.value).id for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"), 60))
    print(f"\nSIGTERM to ingest under load: exit {code}; answers {dict(outcomes)}; slow in-flight bodies answered "
          f"{slow_answers}; acked {len(acked)}, stored {len(stored)}")
    assert code == 0
    assert slow_answers == [200, 200, 200]  # accepted before the signal, finished after it
    assert set(stored) == set(acked) and max(stored.values()) == 1  # every stored record got its 2xx, once
    # the rest: refused while draining (503 + Retry-After) or never connected (listener closed)
    assert set(outcomes) <= {"200", *REFUSED}, outcomes


async def test_worker_metrics_then_sigterm_commits_and_exits_0(run_system: Callable[..., System]) -> None:
    """The worker's metrics count what it folded; on SIGTERM it commits that and exits 0."""
    system = run_system()
    plans = [(kind, lifecycle(kind, SECRET, start=T0)) for kind in LIFECYCLES for _ in range(5)]
    unknown = signed_koywe_body(b'{"eventName":"payment_teleported","orderId":"ord-x"}', SECRET)
    async with aiohttp.ClientSession(headers={**api_headers(), **JSON}) as session:
        for body in [d.body for _, plan in plans for d in plan] + [unknown]:
            async with session.post(f"{system.ingest_url}/webhooks/koywe", data=body) as response:
                assert response.status == 200
        for kind, plan in plans:
            assert (await wait_for_state(session, system.worker_url, plan[0].order_id, FINAL_STATE[kind])) is not None
        sent = Counter(d.event_name for _, plan in plans for d in plan)
        worker_metrics = await caught_up(session, system)  # commits come every second
        ingest_metrics = await metrics_of(session, system.ingest_url)
    folded = samples(worker_metrics, "hooklog_worker_events_folded_total")
    assert {labels: int(n) for labels, n in folded.items()} == {
        f'{{event="{name}",source="koywe"}}': n for name, n in sent.items()}
    assert samples(worker_metrics, "hooklog_worker_dead_letters_total") == {'{source="koywe"}': 1.0}
    assert samples(worker_metrics, "hooklog_worker_alerts_total") == {'{type="order_amount_modified"}': 5.0}
    assert samples(worker_metrics, "hooklog_worker_seam_broken") == {'{item="consumer_lag"}': 0.0}
    started = next(orjson.loads(ln) for ln in system.log_text("worker").splitlines() if '"starting"' in ln)
    assert (started["event_loop"], started["fast_paths"]) == ("uvloop", True)  # the defaults under test
    assert samples(ingest_metrics, "hooklog_ingest_produce_seconds_count") == {'{outcome="acked"}': sum(sent.values()) + 1}
    assert samples(ingest_metrics, "hooklog_ingest_requests_total") == {'{source="koywe",status="200"}': sum(sent.values()) + 1}
    code = await asyncio.to_thread(system.stop, "worker", signal.SIGTERM, 90)
    settings = system.settings
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))
    ends = Counter(r.partition for r in records)
    last = {p: max(r.offset for r in records if r.partition == p) + 1 for p in ends}
    committed = await committed_offsets(settings)
    assert code == 0
    assert committed == last  # everything folded was committed on the way out

    system.start("worker")  # a restart resumes from the commit: nothing is folded again
    marker = lifecycle("onramp", SECRET, start=T0)[0]  # one new event, folded after any re-fold
    async with aiohttp.ClientSession(headers={**api_headers(), **JSON}) as session:
        async with session.post(f"{system.ingest_url}/webhooks/koywe", data=marker.body) as response:
            assert response.status == 200
        assert (await wait_for_state(session, system.worker_url, marker.order_id, "WAITING", timeout_s=120)) is not None
        metrics = await caught_up(session, system)  # whatever the worker would re-fold, it has folded by now
    refolded = samples(metrics, "hooklog_worker_events_folded_total")
    print(f"\nSIGTERM to the worker: exit {code}; committed {committed} = end offsets {last}; folded after restart: {refolded}")
    assert refolded == {'{event="payment_created",source="koywe"}': 1.0}  # the marker alone
