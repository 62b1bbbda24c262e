"""Which partitions a topic has, from the cluster (public `AIOKafkaAdminClient.describe_topics`).

A group-less consumer only knows the partitions of topics it subscribed to; this asks the
cluster. It describes every topic (no name list) so a missing topic is reported missing and is
never auto-created by the metadata request, as a named-topic request may be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError


def partitions_in(described: Iterable[dict[str, Any]], topics: Iterable[str]) -> dict[str, frozenset[int]]:
    """`{topic: partitions}` from `describe_topics()`'s answer, for each of `topics` that exists."""
    wanted = set(topics)
    return {t["topic"]: frozenset(p["partition"] for p in t["partitions"])
            for t in described if t["topic"] in wanted and not t.get("error_code")}


async def topic_partitions(cluster: Settings, topic: str, *, timeout_s: float = 30.0) -> frozenset[int]:
    """The partitions of `topic` (empty when it does not exist)."""
    admin = clients.admin(cluster, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        described = await admin.describe_topics()
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise BrokerUnavailableError.unreachable(cluster.kafka_bootstrap_servers, exc, doing=f"describe {topic}") from exc
    finally:
        await admin.close()
    return partitions_in(described, [topic]).get(topic, frozenset())
