"""What the query routing relies on in faust-streaming's private parts (streams/kafka/seam/faust_assignor.py),
one test per item: each fails loudly when an upgrade changes it. SEAM: move with the module."""

from __future__ import annotations

import inspect

import faust
import pytest
from faust.assignor.client_assignment import ClientAssignment
from faust.assignor.partition_assignor import PartitionAssignor
from faust.tables.recovery import Recovery
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.kafka import seam

pytestmark = pytest.mark.unit


def make_app() -> faust.App:
    return faust.App("faust-view-test", broker="kafka://127.0.0.1:1", canonical_url="http://me:1",
                     table_standby_replicas=1, autodiscover=False)


def test_owner_urls_read_the_changelog_distribution_of_actives() -> None:
    app = make_app()
    app.assignor.changelog_distribution = {"http://me:1": {"c": [0, 2]}, "http://you:2": {"c": [1], "d": [3]}}
    assert seam.owner_urls(app, "c") == {0: "http://me:1", 2: "http://me:1", 1: "http://you:2"}
    assert seam.owner_urls(app, "other") == {}
    # the leader builds it from each member's URL and *active* changelog partitions only
    source = inspect.getsource(PartitionAssignor._get_changelog_distribution)
    assert "_member_urls" in source and "assignment.actives" in source, "changelog_distribution changed"
    assert "changelog_distribution = metadata.changelog_distribution" in inspect.getsource(PartitionAssignor.on_assignment)
    assert "canonical_url" in inspect.getsource(PartitionAssignor._url.fget)  # what each member advertises


def test_active_partitions_exclude_standbys() -> None:
    app = make_app()
    app.assignor._assignment = ClientAssignment(actives={"c": [0, 2], "raw": [0, 2]}, standbys={"c": [1]})
    assert seam.active_partitions(app, "c") == frozenset({0, 2})
    assert seam.active_partitions(app, "nothing") == frozenset()


def test_status_flags_are_where_faust_keeps_them() -> None:
    app = make_app()
    assert seam.faust_status(app) == "starting"  # no recovery completed yet
    app.tables.recovery.completed.set()
    assert seam.faust_status(app) == "ready"
    app.rebalancing = True
    assert seam.faust_status(app) == "rebalancing"
    app.rebalancing = False
    app.tables.recovery.in_recovery = True
    assert seam.faust_status(app) == "recovering"
    # `rebalancing` is set on revocation (first thing of every rejoin) and cleared only when the
    # recovery that follows the assignment ended
    assert "on_rebalance_start()" in inspect.getsource(faust_aiokafka.ConsumerRebalanceListener.on_partitions_revoked)
    for method in (Recovery._resume_streams, Recovery.on_recovery_completed):
        source = inspect.getsource(getattr(method, "__wrapped__", method))
        assert "on_rebalance_end()" in source and "completed.set()" in source, f"{method.__name__} changed"


def test_the_failover_settings_reach_the_kafka_consumer() -> None:
    """Faust hands these settings to AIOKafkaConsumer (settings in streams/worker/app.py)."""
    source = inspect.getsource(faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer)
    for wired in ("group_instance_id=conf.consumer_group_instance_id", "session_timeout_ms=int(session_timeout",
                  "heartbeat_interval_ms=int(conf.broker_heartbeat_interval"):
        assert wired in source, f"faust's aiokafka driver no longer passes {wired}"
