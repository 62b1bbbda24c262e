"""`python -m bench …` / `hooklog bench …`: run benchmarks, print the side-by-side table, save results.

    python -m bench all                 # the suite at default sizes (a few minutes): latest.md + JSON
    python -m bench fold --orders 20000 # one benchmark; JSON only
    python -m bench setup-quix          # bench/.venv with quixstreams, for the fold's baseline (b)

Each benchmark uses a fresh uuid topic prefix on the local broker (started if needed) and
deletes its topics afterwards. Results: bench/results/<name>-<timestamp>.json.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable

import typer

from bench.report import BenchResult, print_table, save

app = typer.Typer(help="Benchmarks, each beside a baseline measured in the same run.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


def _quiet() -> None:
    """aiokafka warns while fresh topics elect leaders; that noise is not a result."""
    logging.basicConfig(level=logging.ERROR)
    for name in ("aiokafka", "kafka"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _finish(name: str, results: list[BenchResult], latest: bool) -> None:
    print_table(results)
    path = save(name, results, latest=latest)
    typer.echo(f"results: {path}" + ("  (table: bench/results/latest.md)" if latest else ""))


def background_cores(seconds: float = 2.0) -> float:
    """Cores busy on the machine before a benchmark starts (other users of a shared machine)."""
    from bench.common import CpuMeter

    meter = CpuMeter({}).start()
    time.sleep(seconds)
    return meter.stop()["machine busy"]


#: Before each benchmark, wait (at most QUIET_WAIT_S) for other users' load to drop below this.
QUIET_BELOW_CORES = 0.5
QUIET_WAIT_S = 30.0


def _measured(run: Callable[[], BenchResult]) -> BenchResult:
    """Run one benchmark after waiting a bounded time for a quieter machine; record the load seen."""
    deadline = time.monotonic() + QUIET_WAIT_S
    before = background_cores()
    while before > QUIET_BELOW_CORES and time.monotonic() < deadline:
        before = background_cores()
    result = run()
    result.detail["background_busy_cores_before"] = before
    return result


def _one(name: str, run: Callable[[], BenchResult]) -> None:
    _quiet()
    _finish(name, [_measured(run)], latest=False)


@app.command()
def ingest(duration: float = typer.Option(5.0, help="seconds of flat-out load per server per round"),
           rounds: int = typer.Option(5, help="interleaved rounds (figure and baselines once each per round)"),
           concurrency: int = typer.Option(64, help="keep-alive connections"),
           loadgen: str = typer.Option("auto", help="auto (wrk if installed) | wrk | aiohttp"),
           profile: bool = typer.Option(True, help="py-spy the ingest process (one extra, unmeasured run)"),
           compare: list[str] = typer.Option([], help="NAME=DIR: also run `hooklog ingest` from source tree DIR "
                                                       "in the same rounds (e.g. `git archive` of the code before)")) -> None:
    """Verified webhooks acked/s vs (a) a no-work aiohttp server and (b) a raw aiokafka producer."""
    from pathlib import Path

    from bench.ingest import run_ingest

    arms = {name: Path(src).resolve() for name, _, src in (c.partition("=") for c in compare)}
    _one("ingest", lambda: run_ingest(duration_s=duration, rounds=rounds, concurrency=concurrency, loadgen=loadgen,
                                      profile=profile, compare=arms))


@app.command()
def fold(orders: int = typer.Option(12_000, help="order lifecycles (~4.5 events each)"),
         rounds: int = typer.Option(3, help="interleaved rounds (each on a fresh prefix)"),
         quix: bool = typer.Option(True, help="run baseline (b) when bench/.venv has quixstreams"),
         profile: bool = typer.Option(True, help="py-spy the worker and Quix (round 0)"),
         compare: list[str] = typer.Option([], help="NAME=DIR: also run `hooklog worker` from source tree DIR "
                                                     "in the same rounds (e.g. `git archive` of the code before)"),
         wave: int = typer.Option(1000, help="orders interleaved per block of the data (small: a catch-up's "
                                             "several events per order in a batch)")) -> None:
    """Worker fold events/s vs (a) pure folds, (b) Quix Streams, (c) process_record loop."""
    from pathlib import Path

    from bench.fold import run_fold

    arms = {name: Path(src).resolve() for name, _, src in (c.partition("=") for c in compare)}
    _one("fold", lambda: run_fold(orders=orders, quix=quix, profile=profile, rounds=rounds, compare=arms, wave=wave))


@app.command()
def replay(orders: int = typer.Option(30_000, help="order lifecycles (~4.5 events each)"),
           rounds: int = typer.Option(3, help="interleaved rounds of replay / raw consume / one process"),
           profile: bool = typer.Option(True, help="a second, pyinstrumented replay"),
           compare: list[str] = typer.Option([], help="NAME=DIR: also replay with source tree DIR (e.g. `git archive "
                                             "<rev> | tar -x -C DIR`) in one process, beside this tree the same way")) -> None:
    """Replay/rebuild events/s vs a raw aiokafka consumer on the same topic."""
    from pathlib import Path

    from bench.replay import run_replay

    arms = {name: Path(src).resolve() for name, _, src in (c.partition("=") for c in compare)}
    _one("replay", lambda: run_replay(orders=orders, profile=profile, rounds=rounds, compare=arms))


@app.command()
def restore(keys: int = typer.Option(300_000, help="orders laid into the changelogs (one changelog record each)"),
            rounds: int = typer.Option(3, help="interleaved rounds of empty-disk restore / raw read / disk kept"),
            kept: bool = typer.Option(True, help="also restart the worker with its disk kept, each round")) -> None:
    """A worker on an empty disk restores its tables from the changelogs, to /readyz, vs a raw read of them."""
    from bench.restore import run_restore

    _one("restore", lambda: run_restore(keys=keys, rounds=rounds, kept=kept))


@app.command()
def latency(rate: list[float] = typer.Option([1000.0, 250.0], help="events/s; the first is the target's"),
            duration: float = typer.Option(15.0, help="measured seconds per rate"),
            sample_every: int = typer.Option(10, help="track every Nth event to visibility")) -> None:
    """POST -> visible in GET /orders/{id}, p50/p99 at fixed rates."""
    from bench.latency import run_latency

    _one("latency", lambda: run_latency(rates=tuple(rate), duration_s=duration, sample_every=sample_every))


@app.command()
def memory(orders: int = typer.Option(100_000, help="orders (one event each); the target is 1,000,000")) -> None:
    """Worker RSS with N orders in its tables vs the same worker idle."""
    from bench.memory import run_memory

    _one("memory", lambda: run_memory(orders=orders))


@app.command()
def failover(orders: int = typer.Option(40, help="orders answered before and after each crash"),
             rounds: int = typer.Option(2, help="interleaved rounds of takeover and restart")) -> None:
    """Takeover after kill -9 of one of 2 workers, and a single worker's restart, beside the session timeout."""
    from bench.failover import run_failover
    from bench.report import machine

    typer.echo(f"CPU: {machine()['cpu']} ({machine()['cores']} cores)")
    _one("failover", lambda: run_failover(orders=orders, rounds=rounds))


@app.command()
def replication(rounds: int = typer.Option(3, help="interleaved rounds of the four arms"),
                duration: float = typer.Option(5.0, help="seconds of flat-out ingest load per arm per round"),
                orders: int = typer.Option(3000, help="order lifecycles the worker folds per arm per round"),
                loadgen: str = typer.Option("auto", help="auto (wrk if installed) | wrk | aiohttp")) -> None:
    """Ingest and the worker on a three-node cluster (started for the run) vs the single broker."""
    from bench.replication import run_replication
    from bench.report import machine

    typer.echo(f"CPU: {machine()['cpu']} ({machine()['cores']} cores)")
    _one("replication", lambda: run_replication(rounds=rounds, duration_s=duration, orders=orders, loadgen=loadgen))


@app.command("console-index")
def console_index(orders: int = typer.Option(1_000_000, help="orders in the index (the target's size: 1M)"),
                  rounds: int = typer.Option(5, help="interleaved rounds of index vs scan")) -> None:
    """The console's stuck-orders query from its index vs a linear scan (pure, no broker)."""
    from bench.console_index import run_console_index
    from bench.report import machine

    typer.echo(f"CPU: {machine()['cpu']} ({machine()['cores']} cores)")
    _one("console-index", lambda: run_console_index(orders=orders, rounds=rounds))


@app.command("all")
def run_all(quick: bool = typer.Option(False, help="tiny sizes (seconds, for a smoke run)"),
            profile: bool = typer.Option(True, help="save py-spy / pyinstrument profiles")) -> None:
    """Every benchmark at default sizes; the table goes to bench/results/latest.md."""
    from bench.fold import run_fold
    from bench.ingest import run_ingest
    from bench.latency import run_latency
    from bench.memory import run_memory
    from bench.replay import run_replay

    _quiet()
    runs: list[tuple[str, Callable[[], BenchResult]]] = [
        ("ingest", lambda: run_ingest(duration_s=1 if quick else 5, rounds=2 if quick else 5, profile=profile)),
        ("fold", lambda: run_fold(orders=500 if quick else 12_000, profile=profile, rounds=2 if quick else 3)),
        ("replay", lambda: run_replay(orders=1000 if quick else 30_000, profile=profile, rounds=2 if quick else 3)),
        ("latency", lambda: run_latency(duration_s=3 if quick else 15)),
        ("memory", lambda: run_memory(orders=2000 if quick else 100_000)),
    ]
    results: list[BenchResult] = []
    for name, run in runs:
        began = time.perf_counter()
        typer.echo(f"[bench] {name} …", err=True)
        try:
            results.append(_measured(run))
        except Exception as exc:  # noqa: BLE001 - one failed benchmark must not lose the others' figures
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            typer.echo(f"[bench] {name} FAILED: {exc}", err=True)
            results.append(BenchResult(name=name, figures=[], detail={"error": f"{type(exc).__name__}: {first_line}"}))
        typer.echo(f"[bench] {name} done in {time.perf_counter() - began:.0f} s", err=True)
    _finish("suite", results, latest=True)


@app.command()
def report(paths: list[str] = typer.Argument(..., help="bench/results/*.json, in table order")) -> None:
    """Rewrite bench/results/latest.md from saved results (e.g. the suite + `memory --orders 1000000`)."""
    from pathlib import Path

    from bench.report import load, print_table, write_latest

    print_table([r for p in paths for r in load(Path(p))])
    typer.echo(f"table: {write_latest([Path(p) for p in paths])}")


@app.command()
def clean() -> None:
    """Delete topics left by interrupted benchmark runs (every topic holding `bench-`)."""
    import asyncio

    from bench.common import delete_topics
    from hooklog.dev.localkafka import ensure_broker

    deleted = asyncio.run(delete_topics(ensure_broker(), "bench-"))
    typer.echo(f"deleted {len(deleted)} topics")


@app.command("setup-quix")
def setup_quix() -> None:
    """Create bench/.venv with bench/requirements-quix.txt (quixstreams caps pydantic below our pins)."""
    from bench.fold import QUIX_PYTHON, QUIX_REQUIREMENTS

    venv = QUIX_PYTHON.parents[1]
    if not QUIX_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(QUIX_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                    str(QUIX_REQUIREMENTS)], check=True)
    typer.echo(f"quixstreams ready in {venv}")


def main() -> None:
    app()
