"""The worker's durable state, and the guard both operations that rewrite it (reset, promote) use.

The worker (Faust app `<prefix>-worker`, floor/kafka/names.py) keeps: committed offsets of the
raw topic in consumer group `<prefix>-worker`; its tables in RocksDB under
`<data_dir>/<prefix>-worker`; each table's changelog topic `<prefix>-worker-<table>-changelog`
(restored from on start); and what it published on the projection, alert and DLQ topics. Reset
and promote refuse while the group has a member, on any machine: a running worker would
overwrite them. They can delete only this machine's stores, so they also start a new store
epoch (floor/kafka/epoch.py): every other worker discards its stores at its next start.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.names import worker_group
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError, HooklogError


class WorkerRunningError(HooklogError):
    """The worker's consumer group has members, so its state must not be rewritten now."""


class Admin:
    """An admin client for one operation (`async with Admin(settings) as admin`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = clients.admin(settings, request_timeout_ms=30_000)

    async def __aenter__(self) -> AIOKafkaAdminClient:
        try:
            await asyncio.wait_for(self.client.start(), 30)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            await self.client.close()
            raise BrokerUnavailableError.unreachable(self.settings.kafka_bootstrap_servers, exc) from exc
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


def member_text(member: tuple) -> str:
    """`client-id@host` of a DescribeGroups member (v0-v3: id, client, host, …; v4+ adds the
    instance id after the member id: client and host are always 4th and 3rd from the end)."""
    return f"{member[-4]}@{member[-3].lstrip('/')}"


async def ensure_worker_stopped(admin: AIOKafkaAdminClient, settings: Settings) -> None:
    """Refuse while any member of the worker group is alive, on any machine: the broker's view of
    the group, not a local process check."""
    group = worker_group(settings)
    (response,) = await admin.describe_consumer_groups([group])
    for _error, _group, state, _ptype, _protocol, members, *_ in response.groups:
        if members:
            raise WorkerRunningError(
                f"consumer group {group} has {len(members)} live member(s) (state {state}): "
                f"{', '.join(sorted(member_text(m) for m in members))}: stop `hooklog worker` first, every one of "
                "this prefix on every machine. After a kill -9 the broker drops a dead member once its "
                "session times out (the worker's session timeout); then run this again.")


#: What reset and promote print: the stores of other machines are not theirs to delete.
OTHER_STORES = ("every worker's local table stores, on every machine, are discarded when that worker next "
                "starts: the new store epoch {epoch} tells them; nothing to delete by hand")
