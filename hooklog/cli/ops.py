"""`hooklog replay [--promote] | verify | reset`: the operator's commands over the log and the worker's state.

Thin shells: the work is in streams/replay/ and streams/ops/.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from floor.settings import Settings
from hooklog.cli.console import console
from streams.ops.admin import OTHER_STORES, Admin, ensure_worker_stopped
from streams.ops.promote import promote
from streams.ops.reset import plan_reset, reset_worker
from streams.ops.verify import verify
from streams.replay.generation import Generation, prune_generations
from streams.replay.model import Replayed, ReplayError, Share, parse_bound

class _Bar:
    """A rich progress bar fed by `on_progress(done, total)`, with events/s and ETA."""

    def __init__(self, label: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>9,.0f} ev/s"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console, transient=False,
        )
        self.task = self.progress.add_task(label, total=None, rate=0.0)
        self.began = time.monotonic()
        self.first: int | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.first is None:
            self.first = done  # a resumed replay starts part-way
        elapsed = max(time.monotonic() - self.began, 1e-6)
        self.progress.update(self.task, completed=done, total=total, rate=(done - self.first) / elapsed)

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _summary(replayed: Replayed, label: str) -> None:
    counts = replayed.counts()
    alerts = counts.pop("alerts")
    rate = replayed.events / replayed.elapsed_s if replayed.elapsed_s else 0.0
    console.print(f"{label}: {replayed.events:,} raw records to offsets {replayed.end} in {replayed.elapsed_s:.1f}s "
                  f"({rate:,.0f} ev/s); dead letters {replayed.dead:,}; alerts {alerts:,}")
    console.print("  " + ", ".join(f"{name} {n:,}" for name, n in counts.items() if n))


async def _replay(settings: Settings, since: str | None, until: str | None, to: Path | None, resume: bool,
                  do_promote: bool, every_s: float, processes: int | None, prune: bool,
                  share: Share | None = None, generation_number: int | None = None) -> None:
    if share is not None and do_promote:
        raise ReplayError("--promote replays and promotes the whole log in one process: run it without --workers")
    if do_promote:  # fail before the long part, not after it
        async with Admin(settings) as admin:
            await ensure_worker_stopped(admin, settings)
    async with await Generation.open(settings, since=parse_bound(since), until=parse_bound(until),
                                     to_file=to, resume=resume, share=share, generation=generation_number) as generation:
        with _Bar(f"replay → {generation.label}") as bar:
            replayed = await generation.run(bar, checkpoint_every_s=every_s, processes=processes)
        _summary(replayed, generation.label)
        console.print(f"  manifest {generation.path}")
        if do_promote:
            with _Bar("catch up to the log's end") as bar:
                report = await promote(settings, generation, bar)
            console.print(f"promoted {generation.label}: written {report.written or 'nothing'}, "
                          f"tombstones {report.tombstones or 'none'}, alerts added {report.alerts_added}; "
                          f"worker resumes at {report.offsets}"
                          + (f"; removed {report.store_removed}" if report.store_removed else ""))
            console.print(OTHER_STORES.format(epoch=report.epoch))
            if prune and generation.manifest.generation is not None:
                pruned = await prune_generations(settings, below=generation.manifest.generation)
                console.print(f"pruned generations {pruned.generations or 'none'} ({len(pruned.topics)} topics)"
                              + (f"; kept unfinished {pruned.kept_running}" if pruned.kept_running else ""))


def register(app: typer.Typer) -> None:
    """Add replay (with --promote), verify and reset to the `hooklog` CLI."""

    @app.command()
    def replay(
        since: str = typer.Option(None, "--from", help="ISO 8601 time (when ingest accepted the record) or P:O,P:O offsets; default: the beginning"),
        until: str = typer.Option(None, "--until", help="same forms, exclusive; default: the log's end when the replay starts"),
        to: Path = typer.Option(None, "--to", help="write a JSONL snapshot file instead of generation topics"),
        resume: bool = typer.Option(False, "--resume", help="continue the unfinished generation (or --to file) from its manifest"),
        do_promote: bool = typer.Option(False, "--promote", help="then make it what the worker and downstream see (worker must be stopped)"),
        checkpoint_every: float = typer.Option(5.0, help="seconds between durable checkpoints"),
        processes: int = typer.Option(None, "--processes", min=1, help="worker processes folding groups of raw partitions; default: one per core (at most one per partition), 1 for small replays"),
        prune: bool = typer.Option(True, "--prune/--keep-old", help="with --promote: then delete older generations' topics and manifests (unfinished ones are kept)"),
        workers: int = typer.Option(None, "--workers", min=1, help="spread the replay over this many processes (on any hosts): each folds the raw partitions p with p %% N == --worker into the same --generation"),
        worker: int = typer.Option(None, "--worker", min=0, help="with --workers: this process's number, 0 to N-1"),
        generation: int = typer.Option(None, "--generation", min=1, help="with --workers: the generation every worker writes"),
    ) -> None:
        """Fold the raw log with the worker's folds into a new generation (topics <prefix>.<projection>.v1.g<N>, or --to a file)."""
        if (workers is None) != (worker is None) or (generation is not None and workers is None):
            raise typer.BadParameter("--workers N, --worker I and --generation G go together (a spread replay)")
        share = Share(worker, workers) if workers is not None else None
        asyncio.run(_replay(Settings(), since, until, to, resume, do_promote, checkpoint_every, processes, prune,
                            share, generation))

    @app.command("verify")
    def verify_cmd(
        wait: float = typer.Option(30.0, help="seconds to let a lagging worker catch up before reporting"),
        api: bool = typer.Option(False, "--api", help="also compare the worker's query API, aggregate by aggregate"),
        worker_url: str = typer.Option(None, help="the worker's query API (default: HOOKLOG_WORKER_HOST/PORT)"),
        changelogs: bool = typer.Option(False, "--changelogs", help="also compare the worker's table changelogs (what a restart restores)"),
    ) -> None:
        """Compare the projection topics (and alerts, DLQ, optionally the API) with a fresh replay; exit 1 on any difference."""
        settings = Settings()
        url = worker_url or f"http://{settings.worker_host}:{settings.worker_port}"
        report = asyncio.run(verify(settings, wait_s=wait, api_url=url if api or worker_url else None,
                                    changelogs=changelogs))
        for difference in report.differences:
            print(difference)
        compared = ", ".join(f"{what} ({n:,})" for what, n in report.compared.items())
        console.print(f"compared {compared} against a replay of {report.replayed.events:,} records")
        if report.lag:
            console.print(f"[yellow]the worker has not committed {report.lag:,} of those records yet[/yellow]")
        if report.differences:
            keys = {(d.projection, d.aggregate) for d in report.differences}
            console.print(f"[red]{len(report.differences)} difference(s) in {len(keys)} aggregate(s)[/red]")
            raise typer.Exit(1)
        console.print("[green]no differences[/green]")

    @app.command()
    def timeline(
        projection: str = typer.Argument(..., help="the projection: orders, kyc, kuenta.loans, koywe-payments.orders, …"),
        key: str = typer.Argument(..., help="the aggregate id (the order id, the user id, …)"),
    ) -> None:
        """Print one aggregate's state with its whole history, folded from the raw log (a stored
        state keeps at most HOOKLOG_HISTORY_LIMIT entries); exit 1 when the log has none of it."""
        from schemas.jsondump import plain_json
        from streams.ops.timeline import full_state

        state = asyncio.run(full_state(Settings(), projection, key))
        if state is None:
            console.print(f"[red]the raw log holds no {projection} event of {key!r}[/red]")
            raise typer.Exit(1)
        sys.stdout.write(plain_json(state).decode() + "\n")

    @app.command()
    def reset(
        changelogs: bool = typer.Option(False, "--changelogs", help="also delete the tables' changelog topics (a re-run that trusts nothing kept)"),
        yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    ) -> None:
        """Make the next `hooklog worker` re-fold the whole log: delete its group offsets and local stores (worker must be stopped)."""
        settings = Settings()
        plan = asyncio.run(plan_reset(settings, changelogs=changelogs))
        console.print(f"consumer group {plan.group} (committed offsets {plan.committed or 'none'}) will be deleted")
        console.print(f"local table stores on this machine: {plan.store or 'none found'}; other workers' stores "
                      "are discarded at their next start")
        if changelogs:
            console.print(f"changelog topics: {', '.join(plan.changelogs) or 'none found'}")
        if not yes and not typer.confirm("Reset the worker's state?", default=False):
            console.print("nothing done (pass --yes to skip this question)")
            raise typer.Exit(1)
        done = asyncio.run(reset_worker(settings, changelogs=changelogs))
        console.print("reset done: the next `hooklog worker` folds the raw log from its beginning")
        console.print(OTHER_STORES.format(epoch=done.epoch))
