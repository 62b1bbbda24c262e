"""`hooklog ingest | worker | simulate | up`: run hooklog's processes, alone or all together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import typer
from rich.console import Console
from rich.table import Table

from floor.credentials import check_secret_lengths
from floor.settings import Settings
from hooklog.cli.console import console
from hooklog.dev import localkafka
from hooklog.dev.supervisor import Child, Supervisor
from schemas.errors import HooklogError

DEMO_SECRET = "demo-koywe-secret"
DEMO_API_TOKEN = "demo-api-token-for-local-use"  # `up --demo` only, when HOOKLOG_API_TOKENS is unset (16+ characters)


def ingest(processes: int = typer.Option(1, help="ingest processes sharing the port (SO_REUSEPORT), "
                                                  "for machines with cores to spare; each has its own /metrics")) -> None:
    """Serve POST /webhooks/{source} (HOOKLOG_INGEST_HOST:HOOKLOG_INGEST_PORT)."""
    from ingest.gateway.server import serve

    if processes == 1:
        serve(Settings())
    else:
        from ingest.gateway.processes import serve_processes

        raise typer.Exit(serve_processes(Settings(), processes))


def worker() -> None:
    """Run the Faust worker: fold the raw log into tables, projection topics, alerts and DLQ."""
    from streams.compose.process import run_worker

    run_worker(Settings())


def notify(host: str = typer.Option("127.0.0.1", help="where /metrics and /healthz listen"),
           port: int = typer.Option(6067, min=0, max=65535, help="their port")) -> None:
    """Run the alert notifiers alone (HOOKLOG_NOTIFY's sinks; set HOOKLOG_NOTIFY_IN_WORKER=false on the workers)."""
    from streams.notify.standalone import run_notify

    run_notify(Settings(), host, port)


def _print_states(states: list[dict], source: str = "koywe") -> None:
    table = Table(title=f"Simulated {source} orders (sent late, twice and out of order)")
    for column in ("kind", "orderId", "state", "events"):
        table.add_column(column)
    for state in states:
        table.add_row(state["kind"], state["orderId"], str(state.get("state")),
                      " → ".join(e["eventName"] for e in state.get("history", [])))
    Console().print(table)


def simulate(
    ingest_url: str = typer.Option("http://127.0.0.1:8080", help="running ingest"),
    worker_url: list[str] = typer.Option(["http://127.0.0.1:6066"], help="running workers' query API; repeat it "
                                         "for several workers (order i is read from the i-th, round robin)"),
    orders: int = typer.Option(1, min=1, help="orders per lifecycle kind"),
    duplicates: float = typer.Option(0.3, min=0.0, max=1.0, help="share of deliveries sent twice"),
    source: str = typer.Option("koywe", help="koywe (ramp webhooks) or koywe-payments (the Payments API)"),
) -> None:
    """Send signed Koywe lifecycles (scrambled, with repeats) and print the resulting states."""
    settings = Settings()
    if source not in ("koywe", "koywe-payments"):
        raise typer.BadParameter("--source is koywe or koywe-payments")
    payments = source == "koywe-payments"
    secrets, tokens = (settings.koywe_payments_secret_list if payments else settings.koywe_secret_list), settings.api_token_list
    if not secrets:
        raise typer.BadParameter(f"set HOOKLOG_{'KOYWE_PAYMENTS' if payments else 'KOYWE'}_SECRETS to the secret "
                                 "ingest verifies with")
    if not tokens:
        raise typer.BadParameter("set HOOKLOG_API_TOKENS to a token the worker's query API accepts")
    secret, token = secrets[0].get_secret_value(), tokens[0].get_secret_value()
    if payments:
        from hooklog.dev.simulate_payments import LIFECYCLES, simulate_payments

        states = asyncio.run(simulate_payments(ingest_url, worker_url, secret, token, orders_per_kind=orders,
                                               duplicates=duplicates))
        final = {kind: status for kind, (_, status) in LIFECYCLES.items()}
    else:
        from hooklog.dev.simulate import simulate as run

        states = asyncio.run(run(ingest_url, worker_url, secret, orders_per_kind=orders, duplicates=duplicates,
                                 token=token))
        final = {s["kind"]: "DELIVERED" for s in states}
    _print_states(states, source)
    if any(s.get("state") != final[s["kind"]] for s in states):
        raise typer.Exit(1)


#: The worker's identity, read by the worker itself (streams/worker; not Settings fields here yet):
#: `up` and docker-compose.yml set them per worker, by name.
WORKER_ID_ENV, WORKER_URL_ENV = "HOOKLOG_WORKER_ID", "HOOKLOG_WORKER_URL"


def _worker_children(settings: Settings, env: dict[str, str], workers: int) -> list[Child]:
    """Worker i (1-based): port worker_port+i-1, data dir <data_dir>/w<i>, id w<i>, its own URL."""
    host = "127.0.0.1" if settings.worker_host in ("0.0.0.0", "::", "") else settings.worker_host  # noqa: S104
    children = []
    for i in range(1, workers + 1):
        port = settings.worker_port + i - 1
        url = f"http://{host}:{port}"
        child_env = {**env, WORKER_ID_ENV: f"w{i}", WORKER_URL_ENV: url,
                     "HOOKLOG_WORKER_PORT": str(port), "HOOKLOG_DATA_DIR": str(settings.data_dir / f"w{i}")}
        children.append(Child(f"worker w{i}", [sys.executable, "-m", "hooklog.cli", "worker"], child_env,
                              f"{url}/readyz"))
    return children


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def up(
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="local workers, on ports HOOKLOG_WORKER_PORT, +1, … "
                                "with data dirs <HOOKLOG_DATA_DIR>/w1, w2, …"),
    demo: bool = typer.Option(False, help="send a simulated order flow once everything is up"),
    exit_after_demo: bool = typer.Option(False, help="shut down after the demo instead of serving"),
) -> None:
    """Broker (if needed) + ingest + N workers in the foreground until Ctrl-C; a child that dies is started again."""
    signal.signal(signal.SIGTERM, _interrupt)  # from the first moment: the finally below stops every child
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
    code = 0
    supervisor: Supervisor | None = None
    try:
        check_secret_lengths(Settings())  # before anything starts: a worker refused would be restarted in a loop
        env["KAFKA_BOOTSTRAP_SERVERS"] = localkafka.ensure_broker()
        settings = Settings()
        ingest_url = f"http://{settings.ingest_host}:{settings.ingest_port}"
        ingest_child = Child("ingest", [sys.executable, "-m", "hooklog.cli", "ingest"], env, f"{ingest_url}/healthz")
        worker_children = _worker_children(settings, env, workers)
        supervisor = Supervisor([ingest_child, *worker_children], say=console.print)
        supervisor.start_all()
        supervisor.wait_ready(120)
        console.print(f"ingest on {ingest_url}")
        for child in worker_children:
            console.print(f"{child.name} on {child.env[WORKER_URL_ENV]} (data {child.env['HOOKLOG_DATA_DIR']})")
        console.print("Ctrl-C stops everything")
        if demo:
            urls = [arg for child in worker_children for arg in ("--worker-url", child.env[WORKER_URL_ENV])]
            code = subprocess.call([sys.executable, "-m", "hooklog.cli", "simulate", "--ingest-url", ingest_url, *urls],
                                   env=env)
        while not exit_after_demo:
            supervisor.tick()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except HooklogError as exc:
        console.print(f"[red]error:[/red] {exc}")
        code = 1
    finally:
        if supervisor is not None:
            supervisor.stop()
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    for command in (ingest, worker, notify, simulate, up):
        app.command()(command)
