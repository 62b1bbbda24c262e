"""Replication: the defaults follow the cluster's broker count, and every topic hooklog creates
carries them (its replicas and its min.insync.replicas), on the real broker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from floor.kafka import clients
from floor.kafka.names import epoch_topic
from floor.kafka.replication import Replication, ReplicationError, replication_for
from floor.kafka.topic_state import topic_states
from floor.kafka.topics import ensure_topics, topic_specs
from floor.kafka.epoch import write_epoch
from floor.settings import Settings


@pytest.mark.unit
@pytest.mark.parametrize(("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2)), (0, (1, 1))])
def test_the_default_is_at_most_three_copies_and_one_less_in_sync(brokers: int, expected: tuple[int, int]) -> None:
    assert replication_for(Settings(), brokers) == Replication(*expected)


@pytest.mark.unit
def test_the_settings_win_over_the_cluster() -> None:
    assert replication_for(Settings(replication_factor=2), 5) == Replication(2, 1)
    assert replication_for(Settings(replication_factor=3, min_insync_replicas=3), 3) == Replication(3, 3)
    assert replication_for(Settings(min_insync_replicas=1), 3) == Replication(3, 1)
    assert Replication(3, 2).config == {"min.insync.replicas": "2"}


@pytest.mark.unit
def test_more_in_sync_than_copies_is_refused() -> None:
    with pytest.raises(ValidationError, match="HOOKLOG_MIN_INSYNC_REPLICAS .3. must be at most HOOKLOG_REPLICATION_FACTOR .2."):
        Settings(replication_factor=2, min_insync_replicas=3)
    with pytest.raises(ReplicationError, match="HOOKLOG_MIN_INSYNC_REPLICAS=2 is more than the replication factor 1"):
        replication_for(Settings(min_insync_replicas=2), 1)


@pytest.mark.kafka
async def test_every_topic_is_created_with_the_clusters_replication(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    admin = clients.admin(settings)
    await admin.start()
    try:
        await write_epoch(settings, admin, "test")
        names = [spec.name for spec in topic_specs(settings)] + [epoch_topic(settings)]
        states = await topic_states(admin, names)
        brokers = len((await admin.describe_cluster())["brokers"])
    finally:
        await admin.close()
    expected = replication_for(settings, brokers)
    assert set(states) == set(names)  # Faust's changelogs and leader topic too
    assert {(s.replication, s.config.get("min.insync.replicas")) for s in states.values()} == {
        (expected.factor, str(expected.min_insync))}


@pytest.mark.kafka
async def test_more_copies_than_brokers_is_a_config_error_saying_so(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(replication_factor=32)
    with pytest.raises(ReplicationError, match="refused replication factor 32 .* HOOKLOG_REPLICATION_FACTOR"):
        await ensure_topics(settings)
