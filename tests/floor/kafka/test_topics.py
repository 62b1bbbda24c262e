"""Topic specs: retention and compaction per topic kind, and one topic per projection the worker folds."""

from __future__ import annotations

import pytest

from floor.kafka.topics import PROJECTION_TOPICS, topic_specs
from floor.settings import Settings
from projections.registry import PROJECTIONS

pytestmark = pytest.mark.unit


def test_every_projection_has_its_compacted_topic_and_nothing_else() -> None:
    assert set(PROJECTION_TOPICS) == {p.name for p in PROJECTIONS}


def test_configs_follow_the_design() -> None:
    specs = {spec.name: spec for spec in topic_specs(Settings(topic_prefix="x", partitions=3))}
    assert specs["x.raw.v1"].config == {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
    assert specs["x.kuenta.payment.v1"].config["cleanup.policy"] == "compact"
    assert specs["x.orders.v1"].config["cleanup.policy"] == "compact"
    assert specs["x.alerts.v1"].config["cleanup.policy"] == "delete"
    assert specs["x-worker-kuenta.credit-changelog"].config == {"cleanup.policy": "compact"}
    assert specs.pop("x-worker-__assignor-__leader").partitions == 1  # Faust's own, one partition
    assert {spec.partitions for spec in specs.values()} == {3}  # co-partitioned with the tables
