"""`hooklog dlq …`: dead letters, and sending them back through the folds after a fix."""

from __future__ import annotations

import asyncio

import typer

from floor.settings import Settings
from hooklog.cli.console import console

dlq_cli = typer.Typer(help="Dead letters: records no fold could take.", no_args_is_help=True)


@dlq_cli.command("redrive")
def redrive_command(dry_run: bool = typer.Option(False, help="list what would be redriven, send nothing"),
                    notifications: bool = typer.Option(False, help="resend dead-lettered alert notifications to "
                                                       "their sinks instead (docs/alerts.md)")) -> None:
    """Send dead letters back through the folds (after a fix), each once; resumable."""
    from streams.ops.redrive import redrive

    if notifications:
        if dry_run:
            raise typer.BadParameter("--dry-run is for the folds' dead letters; --notifications sends")
        redrive_notifications_command()
        return

    report = asyncio.run(redrive(Settings(), dry_run=dry_run))
    verb = "would redrive" if dry_run else "redriven"
    console.print(f"{verb}: {len(report.redriven)}; skipped: {len(report.skipped)}")
    for _, reason in report.skipped:
        console.print(f"  skipped: {reason}")


def redrive_notifications_command() -> None:
    from streams.notify.redrive import redrive_notifications

    report = asyncio.run(redrive_notifications(Settings()))
    console.print(f"resent: {len(report.resent)}; dead-lettered again: {len(report.failed)}; skipped: {len(report.skipped)}")
    for key, reason in report.skipped:
        console.print(f"  skipped {key}: {reason}")
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_cli, name="dlq")
