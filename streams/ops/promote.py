"""`hooklog replay --promote`: make a replay generation what the stopped worker and downstream see.

Writes the replay's states through to the canonical projection topics and to the changelogs, sets
the worker group's offsets to the replay's end, drops this machine's stores and starts a new store
epoch (every other worker drops its stores at its next start), so the next start restores exactly
the replayed states and continues where the replay stopped.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.epoch import write_epoch
from floor.kafka.names import changelog_topic, store_dir, worker_group
from floor.kafka.replication import TopicSpec, create_topics
from floor.settings import Settings
from schemas.errors import HooklogError
from schemas.jsondump import plain_json
from streams.kafka.seam import changelog_key
from streams.ops.admin import Admin, WorkerRunningError, ensure_worker_stopped
from streams.ops.verify import changelog_states, last_per_key
from streams.replay.generation import Generation
from streams.replay.model import Progress, Replayed, alert_bytes


class PromoteError(HooklogError):
    """A generation cannot be promoted; nothing or only idempotent writes happened."""



@dataclass
class PromoteReport:
    """Records written per topic (only differences), and the raw offsets the worker resumes at."""

    written: dict[str, int] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)
    alerts_added: int = 0
    offsets: dict[int, int] = field(default_factory=dict)
    store_removed: Path | None = None
    epoch: str | None = None  # the store epoch the promote started


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
            await create_topics(settings, admin, [TopicSpec(t, len(replayed.end), {"cleanup.policy": "compact"})
                                                  for t in missing])
    report = PromoteReport(offsets=dict(replayed.end))
    producer = clients.producer(settings, acks="all",
                                enable_idempotence=True, linger_ms=20, client_id="hooklog-promote")
    await producer.start()
    sent: list[asyncio.Future[object]] = []
    try:
        for name, table in states.items():
            replay = {key: (p, plain_json(state)) for key, (p, state) in table.items()}
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
                    sent.append(await producer.send(changelog, value, key=changelog_key(key), partition=p))
                    report.written[changelog] = report.written.get(changelog, 0) + 1
            for key, (p, value) in restored.items():
                if value is not None and key not in replay:
                    sent.append(await producer.send(changelog, None, key=changelog_key(key), partition=p))
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
    async with Admin(settings) as admin:  # every worker's stores (any machine) predate this state
        report.epoch = await write_epoch(settings, admin, "promote")
    if store_dir(settings).exists():
        shutil.rmtree(store_dir(settings))
        report.store_removed = store_dir(settings)
    generation.manifest.promoted_at, generation.manifest.promoted_end = datetime.now(UTC), dict(replayed.end)
    generation.manifest.save(generation.path)
    return report


async def _commit_offsets(settings: Settings, replayed: Replayed) -> None:
    """The worker group resumes at the replay's end (a commit outside the group: refused by the
    broker if a member joined meanwhile, which is the last guard against a running worker)."""
    consumer = clients.consumer(settings, group_id=worker_group(settings),
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
