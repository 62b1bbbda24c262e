"""The one place hooklog builds a Kafka client: every producer, consumer, admin client and bare
client of ingest, the worker, replay and the operations goes through these functions.

Why one place: how a client reaches the cluster (today the bootstrap list; security and the
cluster's replication come next) must be the same for all of them, and a client built elsewhere
would silently miss it. The callers say only what their job needs (acks, group, fetch sizes,
client id); `connection` adds how to reach the cluster. tests/floor/kafka/test_clients.py checks
that no product module constructs an aiokafka client itself.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient


def connection(bootstrap: str) -> dict[str, Any]:
    """The options every client gets to reach the cluster at `bootstrap` (`host:port,…`)."""
    return {"bootstrap_servers": bootstrap}


def producer(bootstrap: str, **options: Any) -> AIOKafkaProducer:
    """A producer (not started) with the job's `options` (acks, idempotence, linger, …)."""
    return AIOKafkaProducer(**connection(bootstrap), **options)


def consumer(bootstrap: str, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer (not started), subscribed to `topics` if any, with the job's `options`."""
    return AIOKafkaConsumer(*topics, **connection(bootstrap), **options)


def admin(bootstrap: str, **options: Any) -> AIOKafkaAdminClient:
    """An admin client (not started) with the job's `options` (request timeout, …)."""
    return AIOKafkaAdminClient(**connection(bootstrap), **options)


def client(bootstrap: str, **options: Any) -> AIOKafkaClient:
    """A bare client (not bootstrapped): readiness probes need no more."""
    return AIOKafkaClient(**connection(bootstrap), **options)


def faust_brokers(bootstrap: str) -> list[str]:
    """The same cluster as Faust's `broker` setting (`kafka://host:port` each)."""
    return [f"kafka://{server}" for server in bootstrap.split(",")]
