"""`hooklog schemas …`: the JSON Schemas of everything hooklog publishes."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from hooklog.cli.console import console

schemas_cli = typer.Typer(help="JSON Schemas of everything hooklog publishes.", no_args_is_help=True)


@schemas_cli.command("export")
def export_command(out: Path = typer.Option(Path("schemas/json"), help="folder for <name>.schema.json")) -> None:
    """Write the JSON Schema of every topic value and API answer (from the pydantic models)."""
    from schemas.export import json_schemas

    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / f"{name}.schema.json").write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        console.print(f"wrote {out / f'{name}.schema.json'}")


def register(app: typer.Typer) -> None:
    app.add_typer(schemas_cli, name="schemas")
