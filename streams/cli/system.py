"""`hooklog ingest | worker | simulate | up`: run hooklog's processes, alone or all together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from schemas.settings import Settings
from streams.cli.console import console
from streams.dev import localkafka
from streams.dev.probes import wait_http

DEMO_SECRET = "demo-koywe-secret"
DEMO_API_TOKEN = "demo-api-token"  # `up --demo` only, when HOOKLOG_API_TOKENS is unset


def ingest(processes: int = typer.Option(1, help="ingest processes sharing the port (SO_REUSEPORT), "
                                                  "for machines with cores to spare; each has its own /metrics")) -> None:
    """Serve POST /webhooks/{source} (HOOKLOG_INGEST_HOST:HOOKLOG_INGEST_PORT)."""
    from ingest.server import serve

    if processes == 1:
        serve(Settings())
    else:
        from ingest.processes import serve_processes

        raise typer.Exit(serve_processes(Settings(), processes))


def worker() -> None:
    """Run the Faust worker: fold the raw log into tables, projection topics, alerts and DLQ."""
    from streams.worker.runner import run_worker

    run_worker(Settings())


def _print_states(states: list[dict]) -> None:
    table = Table(title="Simulated Koywe orders (sent late, twice and out of order)")
    for column in ("kind", "orderId", "state", "events"):
        table.add_column(column)
    for state in states:
        table.add_row(state["kind"], state["orderId"], str(state.get("state")),
                      " → ".join(e["eventName"] for e in state.get("history", [])))
    Console().print(table)


def simulate(
    ingest_url: str = typer.Option("http://127.0.0.1:8080", help="running ingest"),
    worker_url: str = typer.Option("http://127.0.0.1:6066", help="running worker's query API"),
    orders: int = typer.Option(1, min=1, help="orders per lifecycle kind"),
    duplicates: float = typer.Option(0.3, min=0.0, max=1.0, help="share of deliveries sent twice"),
) -> None:
    """Send signed Koywe lifecycles (scrambled, with repeats) and print the resulting states."""
    from streams.dev.simulate import simulate as run

    settings = Settings()
    secrets, tokens = settings.koywe_secret_list, settings.api_token_list
    if not secrets:
        raise typer.BadParameter("set HOOKLOG_KOYWE_SECRETS to the secret ingest verifies with")
    if not tokens:
        raise typer.BadParameter("set HOOKLOG_API_TOKENS to a token the worker's query API accepts")
    states = asyncio.run(run(ingest_url, worker_url, secrets[0].get_secret_value(),
                             orders_per_kind=orders, duplicates=duplicates, token=tokens[0].get_secret_value()))
    _print_states(states)
    if any(s.get("state") != "DELIVERED" for s in states):
        raise typer.Exit(1)


def up(
    demo: bool = typer.Option(False, help="send a simulated order flow once everything is up"),
    exit_after_demo: bool = typer.Option(False, help="shut down after the demo instead of serving"),
) -> None:
    """Broker (if needed) + ingest + worker in the foreground until Ctrl-C, then a clean shutdown."""
    env = dict(os.environ)
    if demo:  # the table stands out, not a log line per delivery; HOOKLOG_LOG_LEVEL=info shows them
        env.setdefault("HOOKLOG_LOG_LEVEL", "warning")
    if demo and not env.get("HOOKLOG_KOYWE_SECRETS"):
        env["HOOKLOG_KOYWE_SECRETS"] = DEMO_SECRET
    if demo and not env.get("HOOKLOG_API_TOKENS"):
        env["HOOKLOG_API_TOKENS"] = DEMO_API_TOKEN
        console.print(f"query API token for this demo: {DEMO_API_TOKEN} (set HOOKLOG_API_TOKENS to choose one)")
    elif not env.get("HOOKLOG_API_TOKENS"):
        console.print("[yellow]HOOKLOG_API_TOKENS is unset: the worker's query API stays closed (503)[/yellow]")
    env["KAFKA_BOOTSTRAP_SERVERS"] = localkafka.ensure_broker()
    settings = Settings()
    procs = [subprocess.Popen([sys.executable, "-m", "streams.cli", role], env=env, cwd=Path.cwd())
             for role in ("ingest", "worker")]
    code = 0
    try:
        wait_http(f"http://{settings.ingest_host}:{settings.ingest_port}/healthz", 60, procs[0])
        wait_http(f"http://{settings.worker_host}:{settings.worker_port}/readyz", 120, procs[1])
        console.print(f"ingest on :{settings.ingest_port}, worker on :{settings.worker_port}; Ctrl-C stops")
        if demo:
            code = subprocess.call([sys.executable, "-m", "streams.cli", "simulate",
                                    "--ingest-url", f"http://{settings.ingest_host}:{settings.ingest_port}",
                                    "--worker-url", f"http://{settings.worker_host}:{settings.worker_port}"], env=env)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        while not exit_after_demo and all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        if any(proc.poll() not in (None, 0) for proc in procs):
            console.print("[red]a child process died; shutting down[/red]")
            code = code or 1
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    for command in (ingest, worker, simulate, up):
        app.command()(command)
