"""`hooklog reset` on the real broker: refused while the worker runs, asks first, and afterwards
the worker folds the whole log again from the beginning to the same states."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from floor.kafka.names import changelog_topic, store_dir, worker_group
from floor.settings import Settings
from hooklog.dev.simulate import lifecycle
from streams.ops.admin import WorkerRunningError
from streams.ops.reset import reset_worker
from streams.ops.verify import verify
from tests.conftest import T0
from tests.kafka_fixtures import SECRET, System, hooklog, read_topic

pytestmark = pytest.mark.kafka


async def group_and_topics(settings: Settings) -> tuple[dict[int, int], set[str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(worker_group(settings))
        return {tp.partition: m.offset for tp, m in committed.items()}, set(await admin.list_topics())
    finally:
        await admin.close()


async def test_reset_makes_the_worker_fold_the_whole_log_again(own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system()
    settings = system.settings
    deliveries = [d for kind in ("onramp", "peru-wire") for d in lifecycle(kind, SECRET, start=T0)]
    await system.send(deliveries)
    assert (await verify(settings, wait_s=60)).differences == []

    with pytest.raises(WorkerRunningError, match="stop `hooklog worker` first"):
        await reset_worker(settings)
    system.stop("worker")
    committed, topics = await group_and_topics(settings)
    changelog = changelog_topic(settings, "orders")
    assert sum(committed.values()) == len(deliveries) and changelog in topics and store_dir(settings).exists()

    declined = hooklog(settings, "reset", "--changelogs", answer="n\n")  # the question is answered no
    assert declined.returncode == 1 and "nothing done" in declined.stderr
    unanswered = hooklog(settings, "reset")
    assert unanswered.returncode == 1 and "Aborted" in unanswered.stderr
    assert (await group_and_topics(settings))[0] == committed
    done = hooklog(settings, "reset", "--changelogs", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"{changelog}" in done.stderr and "reset done" in done.stderr
    committed, topics = await group_and_topics(settings)
    assert committed == {} and changelog not in topics and not store_dir(settings).exists()

    published = {(r.partition, r.offset) for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("orders"))}
    assert (await verify(settings, wait_s=0)).lag == len(deliveries)  # nothing committed any more
    system.start("worker")
    orders = {d.order_id for d in deliveries}
    for _ in range(300):  # every raw record is folded again (committed) and each order's state republished
        committed = (await group_and_topics(settings))[0]
        again = [r for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("orders"))
                 if (r.partition, r.offset) not in published]
        if sum(committed.values()) == len(deliveries) and {r.key.decode() for r in again} == orders:
            break
        await asyncio.sleep(0.3)
    # one record per order per batch (docs/architecture.md): at least one per order, at most one per event
    assert {r.key.decode() for r in again} == orders and len(orders) <= len(again) <= len(deliveries)
    report = await verify(settings, wait_s=30)
    assert report.differences == []
    assert changelog in (await group_and_topics(settings))[1]


async def test_a_reset_elsewhere_makes_a_worker_with_an_old_store_discard_it(
        own_topics: None, run_system: Callable[..., System], tmp_path: Path) -> None:
    """Two machines' data dirs: A folded the log; the reset and the rebuild of the changelogs happen
    on B; A's worker then starts on a store older than the group's state and must drop it."""
    system = run_system()  # ingest, and machine A's worker
    settings = system.settings
    await system.send(lifecycle("onramp", SECRET, start=T0))
    assert (await verify(settings, wait_s=60)).differences == []
    system.stop("worker")
    stale = store_dir(settings) / "stale-sentinel"  # stands for A's tables of the old state
    stale.write_text("built before the reset")

    machine_b = System(settings.model_copy(update={"data_dir": tmp_path / "machine-b"}), tmp_path / "b")
    machine_b.logs.mkdir()
    done = hooklog(machine_b.settings, "reset", "--changelogs", "--yes")
    assert done.returncode == 0, done.stderr
    assert "every worker's local table stores, on every machine, are discarded" in done.stderr
    await system.send(lifecycle("peru-wire", SECRET, start=T0))  # the log moves on while A is away
    machine_b.start("worker")
    try:
        assert (await verify(machine_b.settings, wait_s=60, changelogs=True)).differences == []
    finally:
        machine_b.stop("worker")

    system.start("worker")  # machine A again
    assert not stale.exists(), "A's worker kept a store from before the reset"
    log = system.log_text("worker")
    assert "local table stores discarded" in log and "store epoch" in log, log[-3000:]
    report = await verify(settings, wait_s=60, api_url=system.worker_url, changelogs=True)
    assert report.differences == [] and report.compared[f"{system.worker_url} orders"] == 2
