"""The worker's durable state and the two operations that rewrite it while the worker is stopped.

The worker (Faust app `<prefix>-worker`) keeps: committed offsets of the raw topic in consumer
group `<prefix>-worker`; its tables in RocksDB under `<data_dir>/<prefix>-worker`; each table's
changelog topic `<prefix>-worker-<table>-changelog` (restored from on start); and what it
published on the projection, alert and DLQ topics.

- reset: forget the offsets and local stores (optionally the changelogs) so the next start
  re-folds the whole log.
- promote: write a replay's states through to the canonical projection topics and to the
  changelogs, set the group's offsets to the replay's end and drop the local stores, so the
  next start restores exactly the replayed states and continues where the replay stopped.

Both refuse while the group has a member: a running worker would overwrite them.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.protocol.admin import DeleteGroupsRequest

from schemas.errors import BrokerUnavailableError, HooklogError
from schemas.settings import Settings
from streams.replay.generation import Generation
from streams.replay.model import STATE_TYPES, Progress, Replayed, alert_bytes
from streams.kafka.names import changelog_topic, store_dir, worker_group
from streams.verify import changelog_states, last_per_key

GROUP_ID_NOT_FOUND = 69
NON_EMPTY_GROUP = 68


class WorkerRunningError(HooklogError):
    """The worker's consumer group has members, so its state must not be rewritten now."""


class ResetError(HooklogError):
    """Part of a reset failed; running it again is safe."""


class PromoteError(HooklogError):
    """A generation cannot be promoted; nothing or only idempotent writes happened."""


class Admin:
    """An admin client for one operation (`async with Admin(settings) as admin`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=30_000)

    async def __aenter__(self) -> AIOKafkaAdminClient:
        try:
            await asyncio.wait_for(self.client.start(), 30)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            await self.client.close()
            raise BrokerUnavailableError(f"cannot reach Kafka at {self.settings.kafka_bootstrap_servers} ({exc!r}); "
                                         "is the broker up (`hooklog kafka start`)?") from exc
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


async def ensure_worker_stopped(admin: AIOKafkaAdminClient, settings: Settings) -> None:
    group = worker_group(settings)
    (response,) = await admin.describe_consumer_groups([group])
    for _error, _group, state, _ptype, _protocol, members, *_ in response.groups:
        if members:
            raise WorkerRunningError(
                f"consumer group {group} has {len(members)} member(s) (state {state}): stop `hooklog worker` "
                "first. After a kill -9 the broker drops the dead member once its session times out "
                "(Faust's BROKER_SESSION_TIMEOUT, 60 s by default); then run this again.")


@dataclass
class ResetPlan:
    """What a reset removes (shown before the confirmation prompt)."""

    group: str
    committed: dict[int, int]
    store: Path | None
    changelogs: list[str]


async def plan_reset(settings: Settings, *, changelogs: bool) -> ResetPlan:
    async with Admin(settings) as admin:
        committed = await admin.list_consumer_group_offsets(worker_group(settings))
        topics = set(await admin.list_topics())
    wanted = [changelog_topic(settings, name) for name in STATE_TYPES] if changelogs else []
    return ResetPlan(worker_group(settings), {tp.partition: m.offset for tp, m in committed.items()},
                     store_dir(settings) if store_dir(settings).exists() else None, [t for t in wanted if t in topics])


async def reset_worker(settings: Settings, *, changelogs: bool = False, timeout_s: float = 60.0) -> ResetPlan:
    """Delete the group (its committed offsets), the local stores and, if asked, the changelogs."""
    plan = await plan_reset(settings, changelogs=changelogs)
    async with Admin(settings) as admin:
        await ensure_worker_stopped(admin, settings)
        coordinator = await admin.find_coordinator(plan.group)
        response = await admin._send_request(DeleteGroupsRequest([plan.group]), coordinator)  # noqa: SLF001
        for group, code in response.results:
            if code == NON_EMPTY_GROUP:
                raise WorkerRunningError(f"{group} got a member meanwhile: stop the worker and run reset again")
            if code not in (0, GROUP_ID_NOT_FOUND):
                raise ResetError(f"deleting consumer group {group} failed: {for_code(code).__name__}")
        if plan.changelogs:
            await admin.delete_topics(plan.changelogs)
            deadline = time.monotonic() + timeout_s
            while set(plan.changelogs) & set(await admin.list_topics()):
                if time.monotonic() > deadline:
                    raise ResetError(f"{plan.changelogs} still listed after {timeout_s:.0f}s: run reset again")
                await asyncio.sleep(0.5)
    if plan.store is not None:
        shutil.rmtree(plan.store)
    return plan


@dataclass
class PromoteReport:
    """Records written per topic (only differences), and the raw offsets the worker resumes at."""

    written: dict[str, int] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)
    alerts_added: int = 0
    offsets: dict[int, int] = field(default_factory=dict)
    store_removed: Path | None = None


def _same(live: bytes | None, replay: bytes) -> bool:
    return live is not None and (live == replay or orjson.loads(live) == orjson.loads(replay))


async def promote(settings: Settings, generation: Generation, on_progress: Progress | None = None) -> PromoteReport:
    """Make a complete, from-the-beginning generation what the worker and downstream see.

    Extends the generation to the raw topic's end first, so nothing the worker already published
    is taken back. Idempotent: a second run writes nothing new.
    """
    if generation.manifest.since is not None or generation.manifest.until is not None:
        raise PromoteError("only a replay of the whole log can be promoted: drop --from/--until")
    async with Admin(settings) as admin:
        await ensure_worker_stopped(admin, settings)
        replayed = await generation.run(on_progress, extend=True)
        states = replayed.states()
        existing = set(await admin.list_topics())
        missing = [changelog_topic(settings, n) for n in states if changelog_topic(settings, n) not in existing]
        if missing:  # the worker never ran: create them as Faust would, so it restores from them
            try:
                await admin.create_topics([NewTopic(t, len(replayed.end), 1, topic_configs={"cleanup.policy": "compact"})
                                           for t in missing])
            except TopicAlreadyExistsError:
                pass
    report = PromoteReport(offsets=dict(replayed.end))
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                enable_idempotence=True, linger_ms=20, client_id="hooklog-promote")
    await producer.start()
    sent: list[asyncio.Future[object]] = []
    try:
        for name, table in states.items():
            replay = {key: (p, state.model_dump_json().encode()) for key, (p, state) in table.items()}
            canonical, changelog = settings.topic(name), changelog_topic(settings, name)
            live = await last_per_key(settings, canonical)
            for key, (_, value) in replay.items():
                if not _same(live.get(key), value):  # default partitioner, like the worker's sends
                    sent.append(await producer.send(canonical, value, key=key.encode()))
                    report.written[canonical] = report.written.get(canonical, 0) + 1
            for key in [k for k, v in live.items() if v is not None and k not in replay]:
                sent.append(await producer.send(canonical, None, key=key.encode()))
                report.tombstones[canonical] = report.tombstones.get(canonical, 0) + 1
            restored = await changelog_states(settings, name)
            for key, (p, value) in replay.items():  # a table partition is its raw partition
                if not _same(restored.get(key, (p, None))[1], value):
                    sent.append(await producer.send(changelog, value, key=orjson.dumps(key), partition=p))
                    report.written[changelog] = report.written.get(changelog, 0) + 1
            for key, (p, value) in restored.items():
                if value is not None and key not in replay:
                    sent.append(await producer.send(changelog, None, key=orjson.dumps(key), partition=p))
                    report.tombstones[changelog] = report.tombstones.get(changelog, 0) + 1
        live_alerts = set(await last_per_key(settings, settings.topic("alerts")))
        for shard in replayed.shards.values():
            for aid, alert in shard.alerts.items():
                if aid not in live_alerts:
                    sent.append(await producer.send(settings.topic("alerts"), alert_bytes(alert), key=aid.encode()))
                    report.alerts_added += 1
        await asyncio.gather(*sent)
    except KafkaError as exc:
        raise PromoteError(f"writing the promoted states failed ({exc!r}); promote is idempotent: run it again") from exc
    finally:
        await producer.stop()
    await _commit_offsets(settings, replayed)
    if store_dir(settings).exists():
        shutil.rmtree(store_dir(settings))
        report.store_removed = store_dir(settings)
    generation.manifest.promoted_at, generation.manifest.promoted_end = datetime.now(UTC), dict(replayed.end)
    generation.manifest.save(generation.path)
    return report


async def _commit_offsets(settings: Settings, replayed: Replayed) -> None:
    """The worker group resumes at the replay's end (a commit outside the group: refused by the
    broker if a member joined meanwhile, which is the last guard against a running worker)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=worker_group(settings),
                                enable_auto_commit=False, client_id="hooklog-promote")
    await consumer.start()
    try:
        tps = {TopicPartition(replayed.topic, p): offset for p, offset in replayed.end.items()}
        consumer.assign(list(tps))
        await consumer.commit(tps)
    except KafkaError as exc:
        raise WorkerRunningError(f"committing {worker_group(settings)}'s offsets failed ({exc!r}): is the worker "
                                 "running? Stop it and run promote again (it is idempotent)") from exc
    finally:
        await consumer.stop()
