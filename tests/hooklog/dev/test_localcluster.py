"""hooklog.dev.localcluster: three KRaft nodes that replicate hooklog's topics three times, never
create a topic on their own, and take a killed node back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from floor.kafka import clients
from floor.kafka.replication import Replication, cluster_replication
from floor.kafka.topic_state import topic_states
from floor.kafka.topics import ensure_topics, topic_specs
from floor.settings import Settings
from hooklog.dev.localcluster import ClusterSpec, cluster_status, kill_node, start_node
from hooklog.dev.localkafka import is_ready


@pytest.mark.unit
def test_nodes_listen_on_consecutive_ports() -> None:
    spec = ClusterSpec(nodes=3, base_port=19192)
    assert spec.bootstrap == "127.0.0.1:19192,127.0.0.1:19193,127.0.0.1:19194"
    assert spec.voters == "1@127.0.0.1:19195,2@127.0.0.1:19196,3@127.0.0.1:19197"
    assert [n.node_id for n in spec.node_specs] == [1, 2, 3]
    assert dict(spec.node(0).extra)["auto.create.topics.enable"] == "false"


@pytest.mark.cluster
async def test_topics_get_three_copies_two_in_sync_and_nothing_is_auto_created(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert await cluster_replication(settings) == Replication(3, 2)
    await ensure_topics(settings)
    admin = clients.admin(settings)
    await admin.start()
    try:
        states = await topic_states(admin, [s.name for s in topic_specs(settings)])
        await admin.describe_topics([settings.topic("nobody-made-me")])  # a metadata request names it
        assert settings.topic("nobody-made-me") not in await admin.list_topics()
    finally:
        await admin.close()
    assert len(states) == len(topic_specs(settings))
    assert {(s.replication, s.config["min.insync.replicas"]) for s in states.values()} == {(3, "2")}


@pytest.mark.cluster
async def test_a_killed_node_comes_back(cluster_up: ClusterSpec) -> None:
    assert await asyncio.to_thread(kill_node, cluster_up, 2)
    assert not is_ready(cluster_up.node(2).bootstrap, 1.0)
    assert "stopped" in cluster_status(cluster_up).splitlines()[2]
    assert await asyncio.to_thread(start_node, cluster_up, 2) == cluster_up.node(2).bootstrap
    assert is_ready(cluster_up.node(2).bootstrap, 2.0)
