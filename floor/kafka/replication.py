"""How many copies every hooklog topic keeps, and the one place topics are created with them.

The raw log is the system of record: with one replica it lives on one disk, and the producer's
`acks=all` means `acks=1`. So every topic hooklog or Faust creates (raw, projections, alerts,
dead letters, notify topics, changelogs, Faust's leader topic, the store epoch, replay
generations, promote's targets) is created here, with `HOOKLOG_REPLICATION_FACTOR` replicas
and `min.insync.replicas` = `HOOKLOG_MIN_INSYNC_REPLICAS`. Unset, they follow the cluster: the
smaller of 3 and its broker count (from its metadata), and one less than that, at least 1 (a
write is acked by two of three copies and survives one broker's loss; a one-node dev broker
keeps working). Never the broker's auto-creation or its `default.replication.factor`: managed
clusters turn the first off and leave the second at 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, NamedTuple

from aiokafka.admin import NewTopic
from aiokafka.errors import InvalidReplicationFactorError, KafkaError, TopicAlreadyExistsError, for_code

from floor.kafka import clients
from floor.settings import Settings
from schemas.errors import ConfigError

#: The most copies the default asks for; more cost disk and produce latency, not safety hooklog needs.
DEFAULT_MAX_REPLICAS = 3


class Replication(NamedTuple):
    """A topic's copies (`factor`) and how many must hold a write before it is acked."""

    factor: int
    min_insync: int

    @property
    def config(self) -> dict[str, str]:
        """The topic config that carries `min_insync`."""
        return {"min.insync.replicas": str(self.min_insync)}


class TopicSpec(NamedTuple):
    """A topic as hooklog needs it: its name, partition count and config (retention, compaction)."""

    name: str
    partitions: int
    config: dict[str, str]


class ReplicationError(ConfigError):
    """The replication asked for cannot be had on this cluster."""


def replication_for(settings: Settings, brokers: int) -> Replication:
    """The settings' replication, defaults filled in for a cluster of `brokers` brokers."""
    factor = settings.replication_factor or max(1, min(DEFAULT_MAX_REPLICAS, brokers))
    min_insync = settings.min_insync_replicas or max(1, factor - 1)
    if min_insync > factor:
        raise ReplicationError(
            f"HOOKLOG_MIN_INSYNC_REPLICAS={min_insync} is more than the replication factor {factor}: no write "
            f"could ever be acked. Set HOOKLOG_MIN_INSYNC_REPLICAS to at most {factor} (or unset it: {max(1, factor - 1)})")
    return Replication(factor, min_insync)


async def broker_count(admin: Any) -> int:
    """How many brokers the cluster's metadata lists (`admin`: a started admin client)."""
    return len((await admin.describe_cluster()).get("brokers") or ())


async def cluster_replication(settings: Settings, admin: Any | None = None, timeout_s: float = 30.0) -> Replication:
    """The replication of the settings on their cluster (asks its metadata for the broker count;
    opens an admin client of its own unless given a started one)."""
    if admin is not None:
        return replication_for(settings, await broker_count(admin))
    own = clients.admin(settings, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(own.start(), timeout_s)
        brokers = await broker_count(own)
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise await clients.unreachable(settings, exc, doing="read the cluster's brokers") from exc
    finally:
        await own.close()
    return replication_for(settings, brokers)


async def with_cluster_replication(settings: Settings) -> Settings:
    """The settings with the replication defaults filled in from the cluster: what a process
    that builds topics' configs without a broker at hand (the worker's Faust app) is given."""
    replication = await cluster_replication(settings)
    return settings.model_copy(update={"replication_factor": replication.factor,
                                       "min_insync_replicas": replication.min_insync})


def new_topics(specs: Iterable[TopicSpec], replication: Replication) -> list[NewTopic]:
    """The admin API's requests for `specs`, each with the replication's factor and min ISR."""
    return [NewTopic(s.name, s.partitions, replication.factor, topic_configs={**s.config, **replication.config})
            for s in specs]


async def create_topics(settings: Settings, admin: Any, specs: Iterable[TopicSpec], *, timeout_s: float = 30.0,
                        exist_ok: bool = True) -> Replication:
    """Create `specs` (all missing, as far as the caller knows) with the cluster's replication;
    one already there is left as it is unless `exist_ok` is False (TopicAlreadyExistsError).
    Returns the replication used."""
    replication = await cluster_replication(settings, admin)
    wanted = list(specs)
    if not wanted:
        return replication
    answer = await admin.create_topics(new_topics(wanted, replication), timeout_ms=int(timeout_s * 1000))
    for topic, code, message, *_ in answer.topic_errors:  # the admin client raises none of these itself
        error = for_code(code)
        if code == 0 or (error is TopicAlreadyExistsError and exist_ok):
            continue
        if error is InvalidReplicationFactorError:
            raise ReplicationError(
                f"the cluster at {settings.kafka_bootstrap_servers} refused replication factor {replication.factor} "
                f"for {topic} ({message}): a topic cannot have more copies than the cluster has live brokers. "
                "Set HOOKLOG_REPLICATION_FACTOR to at most that count, or unset it (the default is min(3, brokers))")
        raise error(f"creating {topic}: {message}")
    return replication
