"""`hooklog kafka …`: the local single-node KRaft broker (hooklog/dev/localkafka.py)."""

from __future__ import annotations

import typer

from hooklog.cli.console import console
from hooklog.dev import localkafka

kafka_cli = typer.Typer(help="The local single-node KRaft broker (Apache Kafka's own jars).", no_args_is_help=True)


@kafka_cli.command("fetch")
def kafka_fetch() -> None:
    """Resolve Kafka's jars from Maven Central into broker/libs."""
    console.print(f"jars in {localkafka.fetch_jars()}")


@kafka_cli.command("start")
def kafka_start() -> None:
    """Start the broker on 127.0.0.1:9092 (no-op if one answers, or KAFKA_BOOTSTRAP_SERVERS is set)."""
    console.print(f"Kafka ready at {localkafka.ensure_broker()}")


@kafka_cli.command("stop")
def kafka_stop() -> None:
    """Stop the broker this project started (SIGTERM, then SIGKILL after 30 s)."""
    console.print("stopped" if localkafka.stop_broker() else "no broker of ours was running")


@kafka_cli.command("status")
def kafka_status() -> None:
    console.print(localkafka.broker_status())


def register(app: typer.Typer) -> None:
    app.add_typer(kafka_cli, name="kafka")
