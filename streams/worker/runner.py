"""Before the worker runs: its topics (with hooklog's configs), stores that match the cluster and
the store epoch, the event loop. The process itself is run by the composition root
(streams/compose/process.py)."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Literal

import uvloop

from aiokafka import TopicPartition

from floor.kafka import clients
from floor.kafka.epoch import NO_EPOCH, read_epoch
from floor.kafka.metadata import partitions_in
from floor.kafka.names import changelog_topic, store_dir
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError
from streams.kafka.seam import stop_consumer


async def store_identity(settings: Settings) -> str | None:
    """What the local stores must match, `<cluster id>:<changelogs|no-changelogs>:<store epoch>`:
    the cluster, whether every table's changelog holds data (a changelog deleted or emptied —
    `hooklog reset --changelogs`, a wiped broker — makes the stores' persisted offsets lie), and
    the epoch of the group's state (a reset or promote run anywhere starts a new one,
    floor/kafka/epoch.py)."""
    from projections.registry import PROJECTIONS

    changelogs = [changelog_topic(settings, p.name) for p in PROJECTIONS]
    consumer = clients.consumer(settings, group_id=None)
    admin = clients.admin(settings)
    try:
        await admin.start()
        await consumer.start()
        cluster = (await admin.describe_cluster()).get("cluster_id")
        partitions = partitions_in(await admin.describe_topics(), changelogs)
        tps = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
        filled = bool(tps) and sum((await consumer.end_offsets(tps)).values()) > 0
    finally:
        await stop_consumer(consumer)
        await admin.close()
    return f"{cluster}:{'changelogs' if filled else 'no-changelogs'}:{await read_epoch(settings)}"


def _fields(identity: str | None) -> tuple[str | None, str | None, str]:
    """(cluster, changelogs state, epoch) of an identity; markers written before epochs have none."""
    if identity is None:
        return None, None, NO_EPOCH
    cluster, _, rest = identity.strip().partition(":")
    filled, _, epoch = rest.partition(":")
    return cluster, filled or None, epoch or NO_EPOCH


def discard_stores_of_another_cluster(settings: Settings, current: str | None) -> str | None:
    """The local table stores are a cache of changelogs on one cluster, in one store epoch.
    Pointed at another cluster, after the changelogs were deleted, or after a reset or promote
    (here or on another machine) rebuilt the state, their offsets and contents would lie: drop
    them, the changelogs (or the log) rebuild the tables. Returns why they were dropped (None: kept)."""
    datadir = store_dir(settings)
    marker = datadir / "kafka-cluster-id"
    cluster, filled, epoch = _fields(current)
    held_cluster, _, held_epoch = _fields(marker.read_text() if marker.exists() else None)
    stores = datadir.exists() and any(p.name != marker.name for p in datadir.iterdir())
    reason = None
    if current is not None and stores:
        if held_cluster != cluster:
            reason = f"they were built on cluster {held_cluster}, this is {cluster}"
        elif filled == "no-changelogs":
            reason = "the tables' changelogs are empty or gone"
        elif held_epoch != epoch:
            reason = (f"they were built in store epoch {held_epoch}, the group's state is in epoch {epoch} "
                      "(a reset or replay --promote rebuilt it)")
    if reason:
        shutil.rmtree(datadir)
    if current is not None:
        datadir.mkdir(parents=True, exist_ok=True)
        marker.write_text(current)
    return reason


def wait_for_topics(settings: Settings, patience_s: float = 120.0) -> None:
    """Create hooklog's topics, retrying while the broker comes up."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            asyncio.run(ensure_topics(settings, timeout_s=10))
            return
        except BrokerUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def new_event_loop(kind: Literal["uvloop", "asyncio"]) -> asyncio.AbstractEventLoop:
    """The worker's event loop, made the current one (Faust's app and mode's worker bind it).
    The policy too: Faust's Kafka consumer runs in a thread of its own whose loop comes from
    `asyncio.new_event_loop()`. uvloop: less CPU per record (bench/faust_floor.py)."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy() if kind == "uvloop" else None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop
