"""`hooklog kafka …`: the local KRaft broker (hooklog/dev/localkafka.py), or a local cluster of
several nodes (`--nodes 3`, hooklog/dev/localcluster.py)."""

from __future__ import annotations

import typer

from hooklog.cli.console import console
from hooklog.dev import localcluster, localkafka

kafka_cli = typer.Typer(help="The local KRaft broker or cluster (Apache Kafka's own jars).", no_args_is_help=True)

NODES = typer.Option(1, "--nodes", min=1, max=9, help="1: the single dev broker on 127.0.0.1:9092; more: a local "
                     "cluster of that many nodes (ports from --base-port)")
BASE_PORT = typer.Option(localcluster.DEFAULT_BASE_PORT, "--base-port",
                         help="a cluster's first client port (clients on it and the next ones, then the controllers)")


def cluster(nodes: int, base_port: int) -> localcluster.ClusterSpec:
    return localcluster.ClusterSpec(nodes=nodes, base_port=base_port)


@kafka_cli.command("fetch")
def kafka_fetch() -> None:
    """Resolve Kafka's jars from Maven Central into broker/libs."""
    console.print(f"jars in {localkafka.fetch_jars()}")


@kafka_cli.command("start")
def kafka_start(nodes: int = NODES, base_port: int = BASE_PORT) -> None:
    """Start the broker on 127.0.0.1:9092 (no-op if one answers, or KAFKA_BOOTSTRAP_SERVERS is set),
    or with --nodes N a local N-node cluster (no-op for the nodes running)."""
    if nodes == 1:
        console.print(f"Kafka ready at {localkafka.ensure_broker()}")
        return
    bootstrap = localcluster.start_cluster(cluster(nodes, base_port))
    console.print(f"Kafka cluster of {nodes} nodes ready: KAFKA_BOOTSTRAP_SERVERS={bootstrap}")


@kafka_cli.command("stop")
def kafka_stop(nodes: int = NODES, base_port: int = BASE_PORT) -> None:
    """Stop the broker (or the --nodes N cluster) this project started (SIGTERM, then SIGKILL after 30 s)."""
    stopped = localkafka.stop_broker() if nodes == 1 else localcluster.stop_cluster(cluster(nodes, base_port))
    console.print("stopped" if stopped else "no broker of ours was running")


@kafka_cli.command("status")
def kafka_status(nodes: int = NODES, base_port: int = BASE_PORT) -> None:
    console.print(localkafka.broker_status() if nodes == 1 else localcluster.cluster_status(cluster(nodes, base_port)))


def register(app: typer.Typer) -> None:
    app.add_typer(kafka_cli, name="kafka")
