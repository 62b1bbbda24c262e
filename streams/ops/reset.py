"""`hooklog reset`: forget the stopped worker's offsets and local stores (optionally the
changelogs) so its next start re-folds the whole log (streams/ops/admin.py: what it keeps)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from aiokafka.errors import for_code

from floor.kafka.deletion import delete_topics
from floor.kafka.epoch import write_epoch
from floor.kafka.names import changelog_topic, store_dir, worker_group
from floor.settings import Settings
from schemas.errors import HooklogError
from streams.kafka.seam import delete_consumer_group
from streams.ops.admin import Admin, WorkerRunningError, ensure_worker_stopped
from streams.replay.model import STATE_TYPES

GROUP_ID_NOT_FOUND = 69
NON_EMPTY_GROUP = 68


class ResetError(HooklogError):
    """Part of a reset failed; running it again is safe."""


@dataclass
class ResetPlan:
    """What a reset removes (shown before the confirmation prompt)."""

    group: str
    committed: dict[int, int]
    store: Path | None
    changelogs: list[str]
    epoch: str | None = None  # the store epoch the reset started (every worker's stores are older)


async def plan_reset(settings: Settings, *, changelogs: bool) -> ResetPlan:
    async with Admin(settings) as admin:
        committed = await admin.list_consumer_group_offsets(worker_group(settings))
        topics = set(await admin.list_topics())
    wanted = [changelog_topic(settings, name) for name in STATE_TYPES] if changelogs else []
    return ResetPlan(worker_group(settings), {tp.partition: m.offset for tp, m in committed.items()},
                     store_dir(settings) if store_dir(settings).exists() else None, [t for t in wanted if t in topics])


async def reset_worker(settings: Settings, *, changelogs: bool = False, timeout_s: float = 60.0) -> ResetPlan:
    """Delete the group (its committed offsets), this machine's stores and, if asked, the changelogs;
    then start a new store epoch, so every other worker's stores are discarded at its next start."""
    plan = await plan_reset(settings, changelogs=changelogs)
    async with Admin(settings) as admin:
        await ensure_worker_stopped(admin, settings)
        code = await delete_consumer_group(admin, plan.group)
        if code == NON_EMPTY_GROUP:
            raise WorkerRunningError(f"{plan.group} got a member meanwhile: stop the worker and run reset again")
        if code not in (0, GROUP_ID_NOT_FOUND):
            raise ResetError(f"deleting consumer group {plan.group} failed: {for_code(code).__name__}")
        if plan.changelogs and (left := await delete_topics(admin, plan.changelogs, timeout_s, poll_s=0.5)):
            raise ResetError(f"{sorted(left)} still listed after {timeout_s:.0f}s: run reset again")
        plan.epoch = await write_epoch(settings, admin, "reset")
    if plan.store is not None:
        shutil.rmtree(plan.store)
    return plan
