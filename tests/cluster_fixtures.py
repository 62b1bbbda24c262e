"""The local three-node cluster (hooklog/dev/localcluster.py), one per session, started only when
a test marked `cluster` asks for it, shared by all of them; `make_settings` and `run_system`
point a `cluster` test at it. Its nodes listen on free ports of their own, never on the shared
broker's."""

from __future__ import annotations

from collections.abc import Iterator
import pytest

from floor.kafka import clients
from floor.settings import Settings
from hooklog.dev.localcluster import ClusterSpec, client_env, kill_node, start_cluster
from tests.kafka_fixtures import free_ports

NODES = 3


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSpec]:
    """The session's cluster, started; its nodes are SIGKILLed at the end (their data is the session's)."""
    spec = ClusterSpec(nodes=NODES, base_port=free_ports(2 * NODES), data_dir=tmp_path_factory.mktemp("cluster"))
    try:
        start_cluster(spec)
        yield spec
    finally:
        for index in range(NODES):
            kill_node(spec, index)


@pytest.fixture(scope="session")
def secured_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSpec]:
    """A one-node SASL_SSL cluster of the session (its own CA, one SCRAM user): TLS and SASL need no
    more nodes, and each costs a JVM."""
    spec = ClusterSpec(nodes=1, base_port=free_ports(3), data_dir=tmp_path_factory.mktemp("secured"), security="sasl_ssl")
    try:
        start_cluster(spec)
        yield spec
    finally:
        kill_node(spec, 0)


@pytest.fixture
def secured_settings(secured_cluster: ClusterSpec) -> dict[str, str]:
    """The Settings overrides (for make_settings / run_system) that reach the secured cluster."""
    return {name.lower(): value for name, value in client_env(secured_cluster).items()}


@pytest.fixture
def cluster_up(kafka_cluster: ClusterSpec) -> Iterator[ClusterSpec]:
    """The cluster with every node up before the test and again after it (a test may kill nodes)."""
    start_cluster(kafka_cluster)
    yield kafka_cluster
    start_cluster(kafka_cluster)


async def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    """`{partition: leader node id}` of `topic` (-1: no leader now)."""
    admin = clients.admin(Settings(kafka_bootstrap_servers=bootstrap))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return {p["partition"]: p["leader"] for p in described["partitions"]}
