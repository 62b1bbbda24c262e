"""A local KRaft cluster of several combined broker+controller nodes on 127.0.0.1, each one a
hooklog/dev/localkafka.py broker of its own (own data dir, pid file, log), on consecutive ports.

What a production cluster has and the single dev broker lacks, so hooklog can be tried (and
tested, tests/e2e/test_cluster_*.py) against it: three copies of every partition, a quorum of
three controllers (one may die), no automatic topic creation and the broker's default replication
factor 1 (as managed clusters leave it: hooklog must create its topics itself, replicated).
Ports, for `base_port` B and N nodes: clients on B..B+N-1, controllers on B+N..B+2N-1.
Stdlib only, like localkafka.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hooklog.dev.localkafka import (
    REPO,
    READY_TIMEOUT_S,
    BrokerError,
    BrokerSpec,
    broker_status,
    ensure_broker,
    kill_broker,
    launch,
    lock,
    new_cluster_id,
    read_pid,
    stop_broker,
    wait_ready,
)

DEFAULT_BASE_PORT = 19192  # away from the single broker's 9092/9093 and anything common
DEFAULT_HEAP = "384m"  # measured: a node starts in ~15 s on 2 cores with it (/work/shared/KAFKA.md)


@dataclass(frozen=True)
class ClusterSpec:
    """Where a local cluster's nodes listen and keep their state."""

    nodes: int = 3
    base_port: int = DEFAULT_BASE_PORT
    data_dir: Path = field(default_factory=lambda: REPO / ".kafka-cluster")
    heap: str = DEFAULT_HEAP

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise BrokerError("a cluster needs at least one node")
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())

    def client_port(self, index: int) -> int:
        return self.base_port + index

    def controller_port(self, index: int) -> int:
        return self.base_port + self.nodes + index

    @property
    def voters(self) -> str:
        return ",".join(f"{i + 1}@127.0.0.1:{self.controller_port(i)}" for i in range(self.nodes))

    def node(self, index: int) -> BrokerSpec:
        """Node `index` (0-based; its Kafka node id is index + 1)."""
        return BrokerSpec(port=self.client_port(index), controller_port=self.controller_port(index),
                          data_dir=self.data_dir / f"node{index + 1}", heap=self.heap, node_id=index + 1,
                          voters=self.voters, replicas=min(3, self.nodes),
                          extra=(("auto.create.topics.enable", "false"), ("default.replication.factor", "1")))

    @property
    def node_specs(self) -> list[BrokerSpec]:
        return [self.node(i) for i in range(self.nodes)]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.client_port(i)}" for i in range(self.nodes))

    def index_of(self, node_id: int) -> int:
        """The index of the node Kafka calls `node_id` (a partition's leader, say)."""
        return node_id - 1

    @property
    def cluster_id_file(self) -> Path:
        return self.data_dir / "cluster.id"


def cluster_id(spec: ClusterSpec) -> str:
    """The cluster's id, made once: every node is formatted with it."""
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    if not spec.cluster_id_file.exists():
        spec.cluster_id_file.write_text(new_cluster_id() + "\n")
    return spec.cluster_id_file.read_text().strip()


def start_cluster(spec: ClusterSpec = ClusterSpec(), timeout: float = READY_TIMEOUT_S) -> str:
    """Start every node not running, then wait for all of them; the bootstrap list. Idempotent."""
    nodes = spec.node_specs
    with contextlib.ExitStack() as held:
        for node in nodes:
            held.enter_context(lock(node))
        ident = cluster_id(spec)
        pids = [read_pid(node) or launch(node, ident) for node in nodes]  # all up before any is waited for
        for node, pid in zip(nodes, pids, strict=True):
            wait_ready(node, pid, timeout)
    return spec.bootstrap


def start_node(spec: ClusterSpec, index: int, timeout: float = READY_TIMEOUT_S) -> str:
    """Start (again) one node of a cluster whose quorum is up; its bootstrap."""
    return ensure_broker(spec.node(index), timeout)


def kill_node(spec: ClusterSpec, index: int) -> bool:
    """SIGKILL one node: a crashed broker, no clean shutdown."""
    return kill_broker(spec.node(index))


def stop_node(spec: ClusterSpec, index: int) -> bool:
    return stop_broker(spec.node(index))


def stop_cluster(spec: ClusterSpec = ClusterSpec(), timeout: float = 30) -> bool:
    """Stop every node at once (SIGTERM, SIGKILL after `timeout`: one by one, the last would wait
    for a quorum that is gone); False if none of ours ran."""
    with ThreadPoolExecutor(spec.nodes) as pool:
        return any(pool.map(lambda node: stop_broker(node, timeout), spec.node_specs))


def cluster_status(spec: ClusterSpec = ClusterSpec()) -> str:
    """One line per node."""
    return "\n".join(f"node {node.node_id}: {broker_status(node)}" for node in spec.node_specs)
