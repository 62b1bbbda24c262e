"""hooklog's topics (and the Faust worker's), their configs, and creating them (idempotently) with
the admin API and the cluster's replication (floor/kafka/replication.py)."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.names import changelog_topic, leader_topic
from floor.kafka.replication import Replication, TopicSpec, cluster_replication, create_topics
from floor.settings import Settings
from floor.kafka.requirements import Finding, PartitionCountError, TopicConfigError, assess, refusal
from floor.kafka.topic_state import TopicState, topic_states
from floor.logs import get_logger

__all__ = ["PartitionCountError", "TopicConfigError", "check_topics", "ensure_topics", "topic_specs"]
log = get_logger("topics")

FOREVER = "-1"
YEAR_MS = str(365 * 24 * 3600 * 1000)


#: One compacted topic per projection (must match projections.registry; a test checks it).
PROJECTION_TOPICS = ("orders", "kyc", "kuenta.credit", "kuenta.payment", "kuenta.document", "kuenta.validation",
                     "koywe-payments.orders", "koywe-payments.contacts", "koywe-payments.merchants",
                     "koywe-payments.invitations", "events")


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Raw: kept forever (the log replays from); projections: compacted (last state per key); alerts and
    dead letters: a year. Raw and projection topics share a partition count (Faust co-partitioning)."""
    n = settings.partitions
    compacted = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
    forever = {"cleanup.policy": "delete", "retention.ms": FOREVER, "retention.bytes": FOREVER}  # whatever the broker's defaults
    return [
        TopicSpec(settings.topic("raw"), n, forever),
        *(TopicSpec(settings.topic(name), n, compacted) for name in PROJECTION_TOPICS),
        TopicSpec(settings.topic("alerts"), n, {"cleanup.policy": "delete", "retention.ms": YEAR_MS}),
        TopicSpec(settings.topic("dlq"), n, {"cleanup.policy": "delete", "retention.ms": YEAR_MS}),
        # Alert lifecycles (docs/alerts.md): operators' and hooklog's actions are kept forever (the
        # lifecycle is rebuilt from them and the alerts), lifecycles compacted, undeliverable notifications a year.
        TopicSpec(settings.topic("alert-actions"), n, forever),
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


class TopicReport(NamedTuple):
    """hooklog's topics as it needs them, what exists of them, the replication the settings ask on
    this cluster, and every difference (floor/kafka/requirements.py)."""

    specs: list[TopicSpec]
    states: dict[str, TopicState]
    replication: Replication
    findings: list[Finding]


async def report(settings: Settings, admin: Any) -> TopicReport:
    """The report on hooklog's topics (`admin`: a started admin client)."""
    specs = topic_specs(settings)
    states = await topic_states(admin, [spec.name for spec in specs])
    replication = await cluster_replication(settings, admin)
    return TopicReport(specs, states, replication, assess(settings, specs, states, replication))


async def check_topics(settings: Settings, timeout_s: float = 30.0) -> TopicReport:
    """`report` with an admin client of its own (`hooklog kafka check`)."""
    admin = clients.admin(settings, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        return await report(settings, admin)
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise await clients.unreachable(settings, exc, doing="describe topics") from exc
    finally:
        await admin.close()


async def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create whichever of hooklog's topics are missing, then check those that exist; returns the
    names created. TopicConfigError (PartitionCountError for partitions only) when an existing
    topic breaks a guarantee (floor/kafka/requirements.py); a weaker one is logged as a warning."""
    admin = clients.admin(settings, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(settings) if spec.name not in existing]
        await create_topics(settings, admin, missing, timeout_s=timeout_s)
        findings = (await report(settings, admin)).findings
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise await clients.unreachable(settings, exc, doing="create topics") from exc
    finally:
        await admin.close()
    if (error := refusal(findings)) is not None:
        raise error
    for finding in findings:
        log.warning("topic_below_settings", topic=finding.topic, what=finding.what, actual=finding.actual,
                    needed=finding.needed, fix=finding.fix)
    return [spec.name for spec in missing]
