"""What the cluster holds of a topic: its partitions, its replicas and the configs hooklog relies
on, read with the public admin API (`describe_topics`, `describe_configs`).

`hooklog kafka check`, ingest's and the worker's start (floor/kafka/requirements.py) and the tests
compare these with what hooklog needs; one reader so they all see the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, NamedTuple

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

#: The topic configs hooklog's guarantees rest on (docs/kafka-cluster.md).
WATCHED_CONFIGS = ("cleanup.policy", "retention.ms", "retention.bytes", "min.compaction.lag.ms", "min.insync.replicas")
UNKNOWN_TOPIC = 3  # UNKNOWN_TOPIC_OR_PARTITION: not there (or not yet visible to this broker)


class TopicState(NamedTuple):
    """One existing topic: partition count, the fewest replicas any partition has, the fewest
    in sync, and the watched configs' values."""

    name: str
    partitions: int
    replication: int
    in_sync: int
    config: dict[str, str]


def states_of(described: Iterable[dict[str, Any]], configs: Iterable[dict[str, Any]]) -> dict[str, TopicState]:
    """`{topic: state}` from `describe_topics()`'s and `describe_configs()`' answers (`to_object()`),
    for the topics that exist."""
    values = {res["resource_name"]: {e["config_names"]: e["config_value"] for e in res["config_entries"]
                                     if e["config_names"] in WATCHED_CONFIGS}
              for res in configs if not res["error_code"]}
    states = {}
    for topic in described:
        partitions = topic.get("partitions") or ()
        if topic.get("error_code") or not partitions:
            continue
        states[topic["topic"]] = TopicState(topic["topic"], len(partitions),
                                            min(len(p["replicas"]) for p in partitions),
                                            min(len(p["isr"]) for p in partitions),
                                            values.get(topic["topic"], {}))
    return states


async def topic_states(admin: Any, names: Iterable[str]) -> dict[str, TopicState]:
    """The states of those of `names` that exist (`admin`: a started admin client)."""
    wanted = sorted(set(names))
    existing = set(await admin.list_topics())
    present = [name for name in wanted if name in existing]
    if not present:
        return {}
    described, answers = await asyncio.gather(
        admin.describe_topics(present),
        admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in present]))
    configs = [res for answer in answers for res in answer.to_object()["resources"]]
    return states_of(described, configs)
