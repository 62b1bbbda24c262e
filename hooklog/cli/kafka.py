"""`hooklog kafka …`: the local KRaft broker (hooklog/dev/localkafka.py), or a local cluster of
several nodes (`--nodes 3`, hooklog/dev/localcluster.py); `check`: hooklog's topics on any cluster."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from floor.kafka.topics import TopicReport, check_topics
from floor.settings import Settings
from hooklog.cli.console import console
from hooklog.dev import localcluster, localkafka

kafka_cli = typer.Typer(help="The local KRaft broker or cluster (Apache Kafka's own jars).", no_args_is_help=True)

NODES = typer.Option(1, "--nodes", min=1, max=9, help="1: the single dev broker on 127.0.0.1:9092; more: a local "
                     "cluster of that many nodes (ports from --base-port)")
BASE_PORT = typer.Option(localcluster.DEFAULT_BASE_PORT, "--base-port",
                         help="a cluster's first client port (clients on it and the next ones, then the controllers)")


SECURITY = typer.Option("plaintext", "--security", help="sasl_ssl: clients need TLS (the cluster's own CA) and "
                        "SASL SCRAM-SHA-512 (a user it makes); printed on start", case_sensitive=False)


def cluster(nodes: int, base_port: int, security: str = "plaintext") -> localcluster.ClusterSpec:
    if security not in ("plaintext", "sasl_ssl"):
        raise typer.BadParameter("--security is plaintext or sasl_ssl")
    return localcluster.ClusterSpec(nodes=nodes, base_port=base_port, security=security)  # type: ignore[arg-type]


@kafka_cli.command("fetch")
def kafka_fetch() -> None:
    """Resolve Kafka's jars from Maven Central into broker/libs."""
    console.print(f"jars in {localkafka.fetch_jars()}")


@kafka_cli.command("start")
def kafka_start(nodes: int = NODES, base_port: int = BASE_PORT, security: str = SECURITY) -> None:
    """Start the broker on 127.0.0.1:9092 (no-op if one answers, or KAFKA_BOOTSTRAP_SERVERS is set),
    or with --nodes N a local N-node cluster (no-op for the nodes running), --security sasl_ssl secured."""
    if nodes == 1 and security == "plaintext":
        console.print(f"Kafka ready at {localkafka.ensure_broker()}")
        return
    spec = cluster(nodes, base_port, security.lower())
    localcluster.start_cluster(spec)
    console.print(f"Kafka cluster of {nodes} node(s) ready; point hooklog at it with:")
    for name, value in localcluster.client_env(spec).items():  # the user's own password, for them to use
        print(f"export {name}={value}")
    if spec.security == "sasl_ssl":
        console.print(f"(also in {spec.secrets_dir / 'kafka.env'})")


@kafka_cli.command("stop")
def kafka_stop(nodes: int = NODES, base_port: int = BASE_PORT, security: str = SECURITY) -> None:
    """Stop the broker (or the --nodes N cluster) this project started (SIGTERM, then SIGKILL after 30 s)."""
    stopped = localkafka.stop_broker() if nodes == 1 else localcluster.stop_cluster(cluster(nodes, base_port, security.lower()))
    console.print("stopped" if stopped else "no broker of ours was running")


@kafka_cli.command("status")
def kafka_status(nodes: int = NODES, base_port: int = BASE_PORT, security: str = SECURITY) -> None:
    console.print(localkafka.broker_status() if nodes == 1 and security == "plaintext"
                  else localcluster.cluster_status(cluster(nodes, base_port, security.lower())))


#: The columns of `check`: (header, the config it shows); partitions and replication come first.
CHECK_CONFIGS = (("min.insync", "min.insync.replicas"), ("cleanup", "cleanup.policy"),
                 ("retention.ms", "retention.ms"), ("retention.bytes", "retention.bytes"))


def cell(actual: str, needed: str | None, bad: bool) -> str:
    """`actual`, and what hooklog needs beside it when they differ (red: refused, yellow: warned)."""
    if needed is None or not bad:
        return actual
    return f"[red]{actual} (needs {needed})[/red]"


def check_table(report: TopicReport) -> Table:
    """Every hooklog topic with what it is, beside what hooklog needs where they differ."""
    table = Table("topic", "partitions", "replication", *(h for h, _ in CHECK_CONFIGS), "status")
    findings = {(f.topic, f.what): f for f in report.findings}
    for spec in report.specs:
        state = report.states.get(spec.name)
        if state is None:
            table.add_row(spec.name, f"- ({spec.partitions})", f"- ({report.replication.factor})",
                          *("-" for _ in CHECK_CONFIGS), "[yellow]missing: created at start[/yellow]")
            continue
        needs = {**spec.config, **report.replication.config}
        mine = {what: f for (topic, what), f in findings.items() if topic == spec.name}
        status = ("[red]refused[/red]" if any(f.fatal for f in mine.values())
                  else "[yellow]below the settings[/yellow]" if mine else "ok")
        table.add_row(spec.name, cell(str(state.partitions), str(spec.partitions), "partitions" in mine),
                      cell(str(state.replication), str(report.replication.factor), "replication factor" in mine),
                      *(cell(state.config.get(name, "?"), needs.get(name), name in mine) for _, name in CHECK_CONFIGS),
                      status)
    return table


@kafka_cli.command("check")
def kafka_check() -> None:
    """Print every hooklog topic (partitions, replication, min.insync.replicas, cleanup.policy,
    retention) beside what hooklog needs; exit 1 if ingest and the worker would refuse to start."""
    report = asyncio.run(check_topics(Settings()))
    Console(width=200).print(check_table(report))
    for finding in report.findings:
        console.print(f"[{'red' if finding.fatal else 'yellow'}]{finding.text}[/]: {finding.fix}")
    console.print(f"replication asked: {report.replication.factor} copies, min.insync.replicas "
                  f"{report.replication.min_insync} (HOOKLOG_REPLICATION_FACTOR / HOOKLOG_MIN_INSYNC_REPLICAS)")
    if any(f.fatal for f in report.findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(kafka_cli, name="kafka")
