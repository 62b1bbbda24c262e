"""A local KRaft cluster of several combined broker+controller nodes on 127.0.0.1, each one a
hooklog/dev/localkafka.py broker of its own (own data dir, pid file, log), on consecutive ports.

What a production cluster has and the single dev broker lacks, so hooklog can be tried (and
tested, tests/e2e/test_cluster_*.py) against it: three copies of every partition, a quorum of
three controllers (one may die), no automatic topic creation and the broker's default replication
factor 1 (as managed clusters leave it: hooklog must create its topics itself, replicated).
Ports, for `base_port` B and N nodes: clients on B..B+N-1, controllers on B+N..B+2N-1.

`security="sasl_ssl"`: clients must speak TLS and SASL SCRAM-SHA-512, as on a managed cluster.
The cluster makes its own CA and broker certificate (the `openssl` CLI) and one SCRAM user
(`StorageTool format --add-scram`), in `<data_dir>/secrets`, with the client settings in
`<data_dir>/secrets/kafka.env`. Broker-to-broker traffic stays plaintext on a listener of its
own (ports B+2N..B+3N-1), which is also what readiness probes.
Stdlib only, like localkafka.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
    data_dir: Path | None = None  # default: <repo>/.kafka-cluster (secured: .kafka-cluster-sasl_ssl)
    heap: str = DEFAULT_HEAP
    security: Literal["plaintext", "sasl_ssl"] = "plaintext"

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise BrokerError("a cluster needs at least one node")
        default = REPO / (".kafka-cluster" if self.security == "plaintext" else f".kafka-cluster-{self.security}")
        object.__setattr__(self, "data_dir", Path(self.data_dir or default).expanduser().resolve())

    def client_port(self, index: int) -> int:
        return self.base_port + index

    def controller_port(self, index: int) -> int:
        return self.base_port + self.nodes + index

    def internal_port(self, index: int) -> int:
        """Broker-to-broker (and readiness) traffic of a secured cluster: plaintext, on 127.0.0.1."""
        return self.base_port + 2 * self.nodes + index

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def voters(self) -> str:
        return ",".join(f"{i + 1}@127.0.0.1:{self.controller_port(i)}" for i in range(self.nodes))

    def node(self, index: int) -> BrokerSpec:
        """Node `index` (0-based; its Kafka node id is index + 1). Secured, the spec's `port` is
        the plaintext inter-broker listener (what `is_ready` can probe), clients use CLIENT."""
        extra = [("auto.create.topics.enable", "false"), ("default.replication.factor", "1")]
        port = self.client_port(index)
        if self.security == "sasl_ssl":
            port, client, ctl = self.internal_port(index), self.client_port(index), self.controller_port(index)
            extra += [
                ("listeners", f"CLIENT://127.0.0.1:{client},INTERNAL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}"),
                ("advertised.listeners", f"CLIENT://127.0.0.1:{client},INTERNAL://127.0.0.1:{port}"),
                ("inter.broker.listener.name", "INTERNAL"),
                ("listener.security.protocol.map", "CLIENT:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"),
                ("sasl.enabled.mechanisms", "SCRAM-SHA-512"),
                ("listener.name.client.scram-sha-512.sasl.jaas.config",
                 "org.apache.kafka.common.security.scram.ScramLoginModule required;"),
                ("listener.name.client.ssl.keystore.type", "PEM"),
                ("listener.name.client.ssl.keystore.location", str(self.secrets_dir / "broker-keystore.pem")),
            ]
        return BrokerSpec(port=port, controller_port=self.controller_port(index),
                          data_dir=self.data_dir / f"node{index + 1}", heap=self.heap, node_id=index + 1,
                          voters=self.voters, replicas=min(3, self.nodes), extra=tuple(extra),
                          format_args=self.scram_args)

    @property
    def scram_args(self) -> tuple[str, ...]:
        """`StorageTool format` arguments adding the SCRAM user (secured clusters only)."""
        if self.security != "sasl_ssl":
            return ()
        user, password = credentials(self)
        return ("--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]")

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


USER = "hooklog"


def credentials(spec: ClusterSpec) -> tuple[str, str]:
    """The secured cluster's SCRAM user and its password (made once, kept in secrets_dir)."""
    spec.secrets_dir.mkdir(parents=True, exist_ok=True)
    file = spec.secrets_dir / "password"
    if not file.exists():
        file.write_text(secrets.token_urlsafe(18) + "\n")
        file.chmod(0o600)
    return USER, file.read_text().strip()


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise BrokerError(f"openssl {args[0]} failed: {done.stderr.strip()[-500:]} (is the openssl CLI installed?)")


def make_certificates(spec: ClusterSpec) -> Path:
    """A CA of the cluster's own and a broker certificate for 127.0.0.1 signed by it (once);
    the CA file clients trust (KAFKA_SSL_CA_FILE)."""
    d = spec.secrets_dir
    d.mkdir(parents=True, exist_ok=True)
    ca, keystore = d / "ca.pem", d / "broker-keystore.pem"
    if ca.exists() and keystore.exists():
        return ca
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "ca.key"), "-out", str(ca),
             "-days", "825", "-subj", "/CN=hooklog local cluster CA")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "broker.key"), "-out", str(d / "broker.csr"),
             "-subj", "/CN=127.0.0.1")
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", str(d / "broker.csr"), "-CA", str(ca), "-CAkey", str(d / "ca.key"),
             "-CAcreateserial", "-out", str(d / "broker.pem"), "-days", "825", "-extfile", str(d / "san.cnf"))
    _openssl("pkcs8", "-topk8", "-nocrypt", "-in", str(d / "broker.key"), "-out", str(d / "broker.p8"))
    keystore.write_text((d / "broker.p8").read_text() + (d / "broker.pem").read_text())  # Kafka's PEM keystore
    for key in ("ca.key", "broker.key", "broker.p8", "broker-keystore.pem"):
        (d / key).chmod(0o600)
    return ca


def client_env(spec: ClusterSpec) -> dict[str, str]:
    """The environment that points hooklog at the cluster (written to secrets/kafka.env)."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": spec.bootstrap}
    if spec.security == "sasl_ssl":
        user, password = credentials(spec)
        env.update(KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
                   KAFKA_SASL_USERNAME=user, KAFKA_SASL_PASSWORD=password,
                   KAFKA_SSL_CA_FILE=str(spec.secrets_dir / "ca.pem"))
    return env


def start_cluster(spec: ClusterSpec = ClusterSpec(), timeout: float = READY_TIMEOUT_S) -> str:
    """Start every node not running, then wait for all of them; the bootstrap list. Idempotent."""
    nodes = spec.node_specs
    with contextlib.ExitStack() as held:
        for node in nodes:
            held.enter_context(lock(node))
        ident = cluster_id(spec)
        if spec.security == "sasl_ssl":
            make_certificates(spec)
            (spec.secrets_dir / "kafka.env").write_text("".join(f"{k}={v}\n" for k, v in client_env(spec).items()))
            (spec.secrets_dir / "kafka.env").chmod(0o600)
        extra_ports = {node.node_id: (spec.client_port(i),) if spec.security == "sasl_ssl" else ()
                       for i, node in enumerate(nodes)}
        pids = [read_pid(node) or launch(node, ident, extra_ports[node.node_id])  # all up before any is waited for
                for node in nodes]
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
