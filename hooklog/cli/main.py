"""`hooklog`: the command line. Each command group is a module of this package with a
`register(app)`; COMMAND_GROUPS is the one list of them."""

from __future__ import annotations

import sys

import typer

from hooklog.cli import bench, dlq, kafka, ops, schemas, system
from hooklog.cli.console import console
from schemas.errors import HooklogError

COMMAND_GROUPS = (kafka, system, dlq, schemas, ops, bench)

cli = typer.Typer(help="hooklog: provider webhooks into a verified Kafka log and live projections.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
for group in COMMAND_GROUPS:
    group.register(cli)


def main() -> None:
    try:
        cli()
    except HooklogError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
