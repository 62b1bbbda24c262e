"""`hooklog dlq …` and `hooklog schemas …`: dead-letter redrive and JSON Schema export."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import typer
from rich.console import Console

from schemas.settings import Settings

dlq_cli = typer.Typer(help="Dead letters: records no fold could take.", no_args_is_help=True)
schemas_cli = typer.Typer(help="JSON Schemas of everything hooklog publishes.", no_args_is_help=True)
console = Console(stderr=True)


@dlq_cli.command("redrive")
def redrive_command(dry_run: bool = typer.Option(False, help="list what would be redriven, send nothing")) -> None:
    """Send dead letters back through the folds (after a fix), each once; resumable."""
    from streams.ops.redrive import redrive

    report = asyncio.run(redrive(Settings(), dry_run=dry_run))
    verb = "would redrive" if dry_run else "redriven"
    console.print(f"{verb}: {len(report.redriven)}; skipped: {len(report.skipped)}")
    for _, reason in report.skipped:
        console.print(f"  skipped: {reason}")


@schemas_cli.command("export")
def export_command(out: Path = typer.Option(Path("schemas/json"), help="folder for <name>.schema.json")) -> None:
    """Write the JSON Schema of every topic value and API answer (from the pydantic models)."""
    from schemas.export import json_schemas

    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / f"{name}.schema.json").write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        console.print(f"wrote {out / f'{name}.schema.json'}")


def register_dlq(cli: typer.Typer) -> None:
    cli.add_typer(dlq_cli, name="dlq")
    cli.add_typer(schemas_cli, name="schemas")
