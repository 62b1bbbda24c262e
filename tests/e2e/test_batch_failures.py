"""Nothing acked is ever dropped: a batch that fails is never committed, and no key outgrows the broker.

On the real broker, with the product's defaults:
- a projection topic whose `max.message.bytes` refuses the batch's records: the worker stops with
  exit code 75 and a line naming the partitions, offsets and cause; the group's committed offsets
  stay before the batch; once the topic accepts records again, the restarted worker folds every
  event of the batch and of the keys around it, with their alerts and dead letters, and verify
  finds no difference; a worker started on such a topic refuses to start and names it;
- a RocksDB write refused (the worker's file-size limit dropped to nothing, as a full disk would
  refuse it): the worker stops with exit code 75 naming the store and the batch, nothing of the
  batch committed; restarted, it folds every event of it and of the keys around it;
- one order with 10,000 distinct events among ordinary orders: every order answers complete, the
  big one with its history bounded to HOOKLOG_HISTORY_LIMIT, and verify finds no difference.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from floor.kafka.topics import topic_specs
from floor.settings import Settings
from hooklog.dev.simulate import FINAL_STATE, Delivery, koywe_payload, lifecycle, post, signed_body, wait_for_state
from schemas.history import HISTORY_LIMIT
from streams.ops.verify import verify
from streams.worker.fold_loop import EXIT_BATCH_FAILED
from tests.kafka_fixtures import SECRET, System, api_headers, caught_up, committed_offsets, read_topic, until

pytestmark = pytest.mark.kafka


async def raw_ends(settings: Settings) -> dict[int, int]:
    """The raw topic's end offset per partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic("raw"), p) for p in range(settings.partitions)]
        return {tp.partition: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def alter_topic(settings: Settings, topic: str, overrides: dict[str, str]) -> None:
    """The topic's configs as hooklog creates them, with `overrides` on top (none: as created).
    AlterConfigs replaces a topic's whole config set."""
    (spec,) = [s for s in topic_specs(settings) if s.name == topic]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=dict(spec.config) | overrides)])
    finally:
        await admin.close()


async def record_limit(settings: Settings, topic: str) -> str:
    """The topic's `max.message.bytes` as the broker reports it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        (answer,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    (resource_,) = answer.to_object()["resources"]
    return next(e["config_value"] for e in resource_["config_entries"] if e["config_names"] == "max.message.bytes")


async def set_record_limit(settings: Settings, topic: str, limit: int | None) -> None:
    """The topic's `max.message.bytes` = `limit` (None: the broker's default), once the broker
    reports it: a batch sent before the change reaches the broker's view would land."""
    previous = await record_limit(settings, topic)
    await alter_topic(settings, topic, {"max.message.bytes": str(limit)} if limit else {})

    async def applied() -> bool:
        value = await record_limit(settings, topic)
        return value == str(limit) if limit else value != previous

    await until(applied, 30, f"{topic}'s max.message.bytes to turn {limit or 'the default'}")


def exit_code(system: System, role: str, timeout_s: float) -> int:
    """Wait for `role` to end by itself; its exit code."""
    proc = system.procs.pop(role)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{role} still running after {timeout_s:.0f}s:\n{system.log_text(role)[-3000:]}") from None


def poison(order_id: str, start: datetime) -> Delivery:
    """A signed delivery no fold takes (an event name Koywe does not send): a dead letter."""
    return Delivery(order_id, "payment_teleported",
                    signed_body(koywe_payload("payment_teleported", order_id, start), SECRET))


async def assert_all_folded(system: System, plans: dict[str, list[Delivery]], kinds: dict[str, str]) -> None:
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for order_id, plan in plans.items():
            state = await wait_for_state(session, system.worker_url, order_id, FINAL_STATE[kinds[order_id]],
                                         timeout_s=120, events=len(plan))
            assert state is not None and state["state"] == FINAL_STATE[kinds[order_id]], (order_id, state)
            assert [e["eventName"] for e in state["history"]] == [d.event_name for d in plan]


async def assert_folded_after_the_fix(system: System, before: dict[str, list[Delivery]],
                                      after: dict[str, list[Delivery]], kinds: dict[str, str]) -> None:
    """Every event of the failed batch and of the orders around it folded, with the re-quotes'
    alerts and the poison's dead letter, and the projections, changelogs and API agree."""
    settings = system.settings
    await assert_all_folded(system, after | before, kinds | dict.fromkeys(before, "onramp"))
    alerts = {orjson.loads(r.value)["aggregateId"] for r in await read_topic(settings.kafka_bootstrap_servers,
                                                                           settings.topic("alerts"), 60)}
    assert {"ord-after-1", "ord-after-3"} <= alerts  # the re-quotes' order_amount_modified
    dead = [orjson.loads(r.value.split(b"\n", 1)[0]) for r in await read_topic(settings.kafka_bootstrap_servers,
                                                                              settings.topic("dlq"), 60)]
    assert any(d.get("aggregateId") == "ord-poison" for d in dead), dead
    report = await verify(settings, wait_s=60, api_url=system.worker_url, changelogs=True)
    assert report.differences == [], report.differences[:5]


async def fold_then_fail(system: System, break_it: Callable[[], Awaitable[None]],
                         send: Callable[[list[Delivery]], Awaitable[Any]] | None = None,
                         ) -> tuple[dict[str, list[Delivery]], dict[str, list[Delivery]], dict[str, str], dict[int, int]]:
    """Orders folded, then `break_it`, then more orders (re-quotes among them) and a poison event
    posted (by `send`, default `system.send`): the batch that cannot land. Returns (before, after,
    kinds, the raw ends before it)."""
    start = datetime.now(UTC).replace(microsecond=0)
    before = {f"ord-before-{i}": lifecycle("onramp", SECRET, start=start, order_id=f"ord-before-{i}") for i in range(4)}
    await system.send(d for plan in before.values() for d in plan)
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        await caught_up(session, system, 90)
    await break_it()
    ends_before = await raw_ends(system.settings)
    kinds = {f"ord-after-{i}": kind for i, kind in enumerate(("onramp", "peru-wire", "offramp", "peru-wire"))}
    after = {oid: lifecycle(kind, SECRET, start=start + timedelta(minutes=1), order_id=oid) for oid, kind in kinds.items()}
    await (send or system.send)([*(d for plan in after.values() for d in plan), poison("ord-poison", start)])
    return before, after, kinds, ends_before


async def assert_nothing_committed_past(settings: Settings, ends_before: dict[int, int]) -> None:
    committed = await committed_offsets(settings)
    assert all(at <= ends_before[p] for p, at in committed.items()), (committed, ends_before)


async def test_a_batch_the_broker_refuses_is_never_committed_and_is_folded_after_the_fix(
        own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system()
    settings = system.settings
    orders = settings.topic("orders")
    # every order state is larger than 200 bytes
    before, after, kinds, ends_before = await fold_then_fail(system, lambda: set_record_limit(settings, orders, 200))

    code = await asyncio.to_thread(exit_code, system, "worker", 120)
    log = system.log_text("worker")
    assert code == EXIT_BATCH_FAILED, log[-3000:]
    assert "batch_failed_for_good" in log and "MessageSizeTooLargeError" in log and "partition " in log
    await assert_nothing_committed_past(settings, ends_before)

    # still too small: the worker refuses to start and names the topic
    await set_record_limit(settings, orders, 100_000)
    system.start("worker", wait=False)
    assert await asyncio.to_thread(exit_code, system, "worker", 120) != 0
    assert f"topic {orders} accepts records of at most 100000 bytes" in " ".join(system.log_text("worker").split())

    await set_record_limit(settings, orders, None)
    system.start("worker")
    await assert_folded_after_the_fix(system, before, after, kinds)


async def test_a_rocksdb_write_refused_stops_the_worker_uncommitted_and_the_restart_folds_the_batch(
        own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system("ingest")
    system.start("worker", piped=True)  # its log through a pipe: the file-size limit is for its stores
    settings = system.settings

    async def limit_file_sizes() -> None:  # as a full disk would: every append to a file now fails
        resource.prlimit(system.procs["worker"].pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))

    before, after, kinds, ends_before = await fold_then_fail(system, limit_file_sizes)
    code = await asyncio.to_thread(exit_code, system, "worker", 120)
    log = system.log_text("worker")
    assert code == EXIT_BATCH_FAILED, log[-3000:]
    assert "batch_failed_for_good" in log and "StoreWriteError" in log and "File too large" in log, log[-3000:]
    assert "partition " in log
    await assert_nothing_committed_past(settings, ends_before)

    system.start("worker")  # a restarted worker has no such limit: the stores take writes again
    await assert_folded_after_the_fix(system, before, after, kinds)


async def test_an_order_with_10000_events_among_ordinary_orders_stays_within_the_broker(
        own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system()
    settings = system.settings
    start = datetime.now(UTC).replace(microsecond=0)
    big = "ord-huge"
    # Koywe retries a failed crypto transaction: each retry a distinct event (its own timestamp)
    huge = [Delivery(big, "payment_created", signed_body(koywe_payload("payment_created", big, start), SECRET))]
    huge += [Delivery(big, "crypto_tx_failed", signed_body(koywe_payload("crypto_tx_failed", big, start + timedelta(
        milliseconds=i + 1)), SECRET)) for i in range(9_999)]
    kinds = {f"ord-n-{i}": kind for i, kind in enumerate(["onramp", "offramp", "peru-wire", "offramp-corrected"] * 10)}
    ordinary = {oid: lifecycle(kind, SECRET, start=start, order_id=oid) for oid, kind in kinds.items()}
    mixed = [d for plan in ordinary.values() for d in plan]
    deliveries = [*huge[:5000], *mixed[: len(mixed) // 2], *huge[5000:], *mixed[len(mixed) // 2:]]

    async def send(chunk: list[Delivery]) -> None:
        """POST each delivery until it is stored, waiting out a 429's Retry-After as a provider would."""
        async with aiohttp.ClientSession() as session:
            for delivery in chunk:
                while True:
                    status, answer = await post(session, f"{system.ingest_url}/webhooks/koywe", delivery.body)
                    if status != 429:
                        break
                    await asyncio.sleep(1)
                assert status == 200, (status, answer)

    await asyncio.gather(*(send(deliveries[i::4]) for i in range(4)))
    await assert_all_folded(system, ordinary, kinds)
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        deadline = time.monotonic() + 180
        while True:
            async with session.get(f"{system.worker_url}/orders/{big}") as response:
                state = orjson.loads(await response.read()) if response.status == 200 else {}
            if len(state.get("history", ())) + state.get("historyOmitted", 0) >= 10_000 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    assert len(state["history"]) == HISTORY_LIMIT and state["historyOmitted"] == 10_000 - HISTORY_LIMIT, (
        len(state.get("history", ())), state.get("historyOmitted"))
    assert state["state"] == "REJECTED" and state["history"][0]["eventName"] == "payment_created"
    report = await verify(settings, wait_s=120, api_url=system.worker_url, changelogs=True)
    assert report.differences == [], report.differences[:5]
