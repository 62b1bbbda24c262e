"""What hooklog needs of its existing topics: a raw log kept forever, compacted projections and
changelogs, one partition count (refused); fewer copies than the settings ask (warned). Then the
same on the real broker: ingest and the worker refuse to start, `hooklog kafka check` says why."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from structlog.testing import capture_logs

from floor.kafka import clients
from floor.kafka.replication import Replication
from floor.kafka.requirements import PartitionCountError, TopicConfigError, assess, refusal
from floor.kafka.topic_state import TopicState
from floor.kafka.topics import check_topics, ensure_topics, topic_specs
from floor.settings import Settings
from tests.kafka_fixtures import hooklog, until

SETTINGS = Settings(topic_prefix="x", partitions=2)
SPECS = topic_specs(SETTINGS)


def states(**changes: dict[str, str] | int) -> dict[str, TopicState]:
    """Every topic as hooklog creates it with 3 copies, 2 in sync; `changes` per topic:
    a config dict to merge, or an int partition count."""
    made = {}
    for spec in SPECS:
        change = changes.get(spec.name.replace("x.", "").replace(".v1", ""), {})
        partitions = change if isinstance(change, int) else spec.partitions
        config = {**spec.config, "min.insync.replicas": "2", **(change if isinstance(change, dict) else {})}
        made[spec.name] = TopicState(spec.name, partitions, 3, 3, config)
    return made


@pytest.mark.unit
def test_topics_as_hooklog_makes_them_are_fine() -> None:
    assert assess(SETTINGS, SPECS, states(), Replication(3, 2)) == []
    assert refusal([]) is None


@pytest.mark.unit
@pytest.mark.parametrize(("change", "what"), [({"retention.ms": "604800000"}, "retention.ms"),
                                               ({"retention.bytes": "1073741824"}, "retention.bytes"),
                                               ({"cleanup.policy": "compact"}, "cleanup.policy")])
def test_a_raw_log_not_kept_forever_is_refused(change: dict[str, str], what: str) -> None:
    (finding,) = assess(SETTINGS, SPECS, states(raw=change), Replication(3, 2))
    assert (finding.topic, finding.what, finding.needed, finding.fatal) == ("x.raw.v1", what, SPECS[0].config[what], True)
    error = refusal([finding])
    assert isinstance(error, TopicConfigError) and not isinstance(error, PartitionCountError)
    assert f"topic x.raw.v1: {what} is {change[what]}, hooklog needs" in str(error)
    assert f"--entity-name x.raw.v1 --add-config {what}={SPECS[0].config[what]}" in str(error)


@pytest.mark.unit
def test_a_projection_not_compacted_and_another_partition_count_are_refused() -> None:
    findings = assess(SETTINGS, SPECS, states(orders={"cleanup.policy": "delete"}, kyc=3), Replication(3, 2))
    assert {(f.topic, f.what, f.fatal) for f in findings} == {("x.orders.v1", "cleanup.policy", True),
                                                               ("x.kyc.v1", "partitions", True)}
    text = str(refusal(findings))
    assert "topic x.kyc.v1: partitions is 3, hooklog needs 2 (HOOKLOG_PARTITIONS=2)" in text
    assert "set HOOKLOG_PARTITIONS=3" in text


@pytest.mark.unit
def test_partitions_alone_are_a_partition_count_error_with_one_fix() -> None:
    findings = assess(SETTINGS, SPECS, states(raw=3, orders=3), Replication(3, 2))
    error = refusal(findings)
    assert isinstance(error, PartitionCountError) and str(error).count("a new HOOKLOG_TOPIC_PREFIX") == 1


@pytest.mark.unit
def test_fewer_copies_or_in_sync_than_the_settings_ask_are_only_warned_of() -> None:
    fewer = {name: state._replace(replication=2) for name, state in states(alerts={"min.insync.replicas": "1"}).items()}
    findings = assess(SETTINGS, SPECS, fewer, Replication(3, 2))
    assert findings and not any(f.fatal for f in findings) and refusal(findings) is None
    assert {f.what for f in findings} == {"replication factor", "min.insync.replicas"}
    assert len([f for f in findings if f.what == "replication factor"]) == len(SPECS)


async def _alter(settings: Settings, topic: str, config: dict[str, str]) -> None:
    admin = clients.admin(settings)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=config)])
    finally:
        await admin.close()


@pytest.mark.kafka
@pytest.mark.parametrize(("role", "topic", "config", "said"), [
    ("ingest", "raw", {"retention.ms": "604800000"}, "retention.ms is 604800000, hooklog needs -1"),
    ("worker", "orders", {"cleanup.policy": "delete"}, "cleanup.policy is delete, hooklog needs compact")])
async def test_ingest_and_the_worker_refuse_to_start_and_check_says_why(
        role: str, topic: str, config: dict[str, str], said: str, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    await _alter(settings, settings.topic(topic), config)
    done = hooklog(settings, role)  # returns: it refused to start
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"topic {settings.topic(topic)}: {said}" in done.stderr and "kafka-configs.sh" in done.stderr
    check = hooklog(settings, "kafka", "check")
    assert check.returncode == 1, check.stderr[-2000:]
    assert settings.topic("raw") in check.stdout and settings.topic("lifecycle") in check.stdout
    assert f"topic {settings.topic(topic)}: {said}" in check.stderr


@pytest.mark.kafka
async def test_fewer_copies_than_the_setting_is_a_warning_and_check_passes(make_settings: Callable[..., Settings]) -> None:
    await ensure_topics(make_settings())  # one broker: one copy each
    asking = make_settings(replication_factor=2)

    async def all_listed() -> bool:  # a topic just created may take a moment to be listed
        return len((await check_topics(asking)).states) == len(topic_specs(asking))

    await until(all_listed, 30, "the topics are listed")
    with capture_logs() as logs:
        await ensure_topics(asking)  # nothing to create, so no copies asked of the one broker: it starts
    warned = {entry["topic"] for entry in logs if entry["event"] == "topic_below_settings"}
    assert warned == {spec.name for spec in topic_specs(asking)}
    check = hooklog(asking, "kafka", "check")
    assert check.returncode == 0, check.stderr[-2000:]
    assert "replication factor is 1, hooklog needs 2" in check.stderr
