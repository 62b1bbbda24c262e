"""A state is one Kafka record: check at start that the largest one fits the topics it goes to.

A state's history is bounded (`HOOKLOG_HISTORY_LIMIT`, projections/history.py `bound_history`),
so its largest record is about `limit × ENTRY_BYTES`; the worker also sends record batches of up
to `BATCH_BYTES`. Both must fit every projection topic's and changelog's `max.message.bytes`
(the broker refuses a larger record batch: the batch would then fail for good and the worker
stop) and the producer's request size. The worker refuses to start, naming the topic, when they
do not, instead of finding out at the first large state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.names import changelog_topic
from floor.settings import Settings
from projections.registry import PROJECTIONS
from schemas.errors import BrokerUnavailableError, ConfigError
from schemas.history import ENTRY_BYTES
from streams.kafka.seam import BATCH_BYTES

#: A state's members besides its history, and a record batch's own framing.
STATE_MARGIN = 16 * 1024
#: What Faust's producer sends at most in one request (its `producer_max_request_size` default).
PRODUCER_MAX_REQUEST = 1_000_000


class RecordLimitError(ConfigError):
    """A topic would refuse the records the worker writes to it."""


def needed_bytes(settings: Settings) -> int:
    """The largest record batch the worker may write: a full-history state, or a full batch."""
    return max(settings.history_limit * ENTRY_BYTES, BATCH_BYTES) + STATE_MARGIN


def state_topics(settings: Settings) -> list[str]:
    """Every topic a state is written to: the projection topics and the tables' changelogs."""
    return [name for p in PROJECTIONS for name in (settings.topic(p.name), changelog_topic(settings, p.name))]


def check_record_limits(settings: Settings, limits: Mapping[str, int]) -> None:
    """Raise RecordLimitError naming the first topic (of `limits`: topic -> max.message.bytes)
    that a state or a batch could exceed, with what to do."""
    needed = needed_bytes(settings)
    if needed > PRODUCER_MAX_REQUEST:
        raise RecordLimitError(
            f"HOOKLOG_HISTORY_LIMIT={settings.history_limit} lets a state grow to ~{needed} bytes, over the "
            f"producer's request limit of {PRODUCER_MAX_REQUEST}: lower HOOKLOG_HISTORY_LIMIT to at most "
            f"{(PRODUCER_MAX_REQUEST - STATE_MARGIN) // ENTRY_BYTES}")
    for topic, limit in sorted(limits.items()):
        if limit < needed:
            raise RecordLimitError(
                f"topic {topic} accepts records of at most {limit} bytes (max.message.bytes), but the worker "
                f"writes up to ~{needed} (HOOKLOG_HISTORY_LIMIT={settings.history_limit} entries of up to "
                f"{ENTRY_BYTES} bytes, or a batch of {BATCH_BYTES}). Raise it: kafka-configs --alter --topic "
                f"{topic} --add-config max.message.bytes={needed}, or lower HOOKLOG_HISTORY_LIMIT")


async def topic_record_limits(cluster: Settings, topics: Iterable[str], timeout_s: float = 30.0) -> dict[str, int]:
    """topic -> its effective `max.message.bytes` (the broker's default when the topic sets none),
    for each of `topics` that exists."""
    admin = clients.admin(cluster, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        if not wanted:
            return {}
        answers = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in wanted])
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise BrokerUnavailableError.unreachable(cluster.kafka_bootstrap_servers, exc, doing="describe topic configs") from exc
    finally:
        await admin.close()
    limits: dict[str, int] = {}
    for answer in answers:
        for _code, _message, _type, name, entries in answer.resources:
            for entry in entries:
                if entry[0] == "max.message.bytes" and entry[1] is not None:
                    limits[name] = int(entry[1])
    return limits


async def ensure_states_fit(settings: Settings) -> None:
    """`check_record_limits` against the cluster's real topic configs."""
    check_record_limits(settings, await topic_record_limits(settings, state_topics(settings)))
