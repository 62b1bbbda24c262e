"""hooklog's topics (and the Faust worker's), their configs, and creating them (idempotently) with
the admin API and the cluster's replication (floor/kafka/replication.py)."""

from __future__ import annotations

import asyncio
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.names import changelog_topic, leader_topic
from floor.kafka.replication import TopicSpec, create_topics
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError, ConfigError

FOREVER = "-1"
YEAR_MS = str(365 * 24 * 3600 * 1000)


#: One compacted topic per projection (must match projections.registry; a test checks it).
PROJECTION_TOPICS = ("orders", "kyc", "kuenta.credit", "kuenta.payment", "kuenta.document", "kuenta.validation",
                     "koywe-payments.orders", "koywe-payments.contacts", "koywe-payments.merchants",
                     "koywe-payments.invitations", "events")


class PartitionCountError(ConfigError):
    """The raw topic exists with another partition count than HOOKLOG_PARTITIONS."""


def partition_count_error(settings: Settings, actual: int) -> PartitionCountError:
    """What to do when the raw topic and the setting disagree: a record's partition decides which
    worker folds it and where its state lives, so the count of an existing log cannot change."""
    raw = settings.topic("raw")
    return PartitionCountError(
        f"topic {raw} has {actual} partitions but HOOKLOG_PARTITIONS={settings.partitions}. Either set "
        f"HOOKLOG_PARTITIONS={actual} (every ingest and worker of this prefix must use the same value), or move "
        f"to a new log with {settings.partitions} partitions: a new HOOKLOG_TOPIC_PREFIX (its topics are created "
        "with HOOKLOG_PARTITIONS), the old raw topic replayed into it, and the workers fold it from the beginning "
        '(docs/operations.md, "Choosing the partition count")')


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Raw: kept forever (the log replays from); projections: compacted (last state per key); alerts and
    dead letters: a year. Raw and projection topics share a partition count (Faust co-partitioning)."""
    n = settings.partitions
    compacted = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
    return [
        TopicSpec(settings.topic("raw"), n, {"cleanup.policy": "delete", "retention.ms": FOREVER}),
        *(TopicSpec(settings.topic(name), n, compacted) for name in PROJECTION_TOPICS),
        TopicSpec(settings.topic("alerts"), n, {"cleanup.policy": "delete", "retention.ms": YEAR_MS}),
        TopicSpec(settings.topic("dlq"), n, {"cleanup.policy": "delete", "retention.ms": YEAR_MS}),
        # Alert lifecycles (docs/alerts.md): operators' and hooklog's actions are kept forever (the
        # lifecycle is rebuilt from them and the alerts), lifecycles compacted, undeliverable notifications a year.
        TopicSpec(settings.topic("alert-actions"), n, {"cleanup.policy": "delete", "retention.ms": FOREVER}),
        TopicSpec(settings.topic("lifecycle"), n, compacted),
        TopicSpec(settings.topic("notify-dlq"), n, {"cleanup.policy": "delete", "retention.ms": YEAR_MS}),
        *faust_topic_specs(settings),
    ]


def faust_topic_specs(settings: Settings) -> list[TopicSpec]:
    """The worker's Faust topics, made by hooklog before Faust would (Faust then finds them and
    leaves them): a compacted changelog per table, as Faust makes one (`cleanup.policy=compact`),
    partitioned like the raw topic; Faust's one-partition leader topic with Faust's defaults."""
    return [*(TopicSpec(changelog_topic(settings, name), settings.partitions, {"cleanup.policy": "compact"})
              for name in PROJECTION_TOPICS),
            TopicSpec(leader_topic(settings), 1, {})]


async def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create whichever of hooklog's topics are missing; returns the names created.

    PartitionCountError when the raw topic has another partition count than the settings say."""
    admin = clients.admin(settings.kafka_bootstrap_servers, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(settings) if spec.name not in existing]
        await create_topics(settings, admin, missing, timeout_s=timeout_s)
        (raw,) = await admin.describe_topics([settings.topic("raw")])
        actual = len(raw.get("partitions") or ())
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise BrokerUnavailableError.unreachable(settings.kafka_bootstrap_servers, exc, doing="create topics") from exc
    finally:
        await admin.close()
    if actual and actual != settings.partitions:
        raise partition_count_error(settings, actual)
    return [spec.name for spec in missing]
