"""`python -m bench failover`: how long a crashed worker's keys go unanswered, beside the session timeout.

Two `hooklog worker` processes of one group (4 partitions, default settings: 10 s session timeout,
1 standby, static worker ids w0/w1) and `hooklog ingest`; N orders sent and answered by both.
Per round, interleaved:
- takeover: `kill -9` w1; seconds until w0 answers every order w1 owned with its final state
  (it 503s meanwhile); then w1 is started again and the group settles;
- restart: `kill -9` w1 and start it again at once (same worker id: a static member, no
  rebalance); seconds from the new process's spawn until w1 answers every order.
Baselines, same run: the session timeout (what detection waits for) and a worker process's
spawn-to-/healthz (interpreter, Faust, broker connection: what any restart pays first).
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp
import orjson

from bench.common import API_TOKEN, SECRET, Children, bench_run, free_port, settings_env
from bench.report import Baseline, BenchResult, Figure, machine
from floor.kafka.partitioning import partition_for
from floor.settings import Settings
from hooklog.dev.probes import wait_http
from hooklog.dev.simulate import lifecycle, post, scramble

TAKEOVER_TARGET_S, RESTART_TARGET_S = 15.0, 10.0
PARTITIONS = 4


class Pair:
    """w0 and w1: named workers of one group, each with its port, data dir and worker id."""

    def __init__(self, settings: Settings, children: Children) -> None:
        self.settings, self.children = settings, children
        self.ports = {"w0": free_port(), "w1": free_port()}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        env = {**settings_env(self.settings), "HOOKLOG_WORKER_PORT": str(self.ports[name]),
               "HOOKLOG_WORKER_ID": name, "HOOKLOG_DATA_DIR": str(self.settings.data_dir / name)}
        self.procs[name] = self.children.spawn(name, [sys.executable, "-m", "hooklog.cli", "worker"], env)
        return self.procs[name]

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait()


async def _states(session: aiohttp.ClientSession, url: str, ids: list[str]) -> dict[str, bytes] | None:
    out = {}
    for order_id in ids:
        try:
            async with session.get(f"{url}/orders/{order_id}") as response:
                if response.status != 200:
                    return None
                out[order_id] = await response.read()
        except aiohttp.ClientError:
            return None
    return out


async def _until_answered(url: str, want: dict[str, bytes], timeout_s: float = 180) -> float:
    """Seconds until `url` answers every order of `want` with exactly that state."""
    began = time.monotonic()
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as session:
        while time.monotonic() - began < timeout_s:
            if await _states(session, url, list(want)) == want:
                return time.monotonic() - began
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer {len(want)} orders within {timeout_s:.0f} s")


async def _send_orders(ingest_url: str, orders: int) -> list[str]:
    rng = random.Random(3)
    plans = [lifecycle("onramp", SECRET, start=_start()) for _ in range(orders)]
    async with aiohttp.ClientSession() as session:
        for plan in plans:
            for delivery in scramble(plan, rng):
                status, answer = await post(session, f"{ingest_url}/webhooks/koywe", delivery.body)
                if status != 200:
                    raise RuntimeError(f"ingest answered {status} {answer}")
    return [plan[0].order_id for plan in plans]


def _start() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


async def _final(pair: Pair, ids: list[str]) -> dict[str, bytes]:
    """Both workers answer every order, the same; the states once every order is DELIVERED."""
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(900):
            got = [await _states(session, pair.url(n), ids) for n in ("w0", "w1")]
            if got[0] and got[0] == got[1] and all(orjson.loads(v)["state"] == "DELIVERED" for v in got[0].values()):
                return got[0]
            await asyncio.sleep(0.2)
    raise RuntimeError("the two workers never agreed on every order")


def _owners(url: str) -> dict[int, str]:
    import urllib.request

    with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
        return {int(p): u for p, u in orjson.loads(response.read())["owners"].items()}


def _settle(pair: Pair) -> None:
    for name in ("w0", "w1"):
        wait_http(f"{pair.url(name)}/readyz", 180, pair.procs.get(name))
    deadline = time.monotonic() + 120
    while not (len(set(_owners(pair.url("w0")).values())) == 2 and _owners(pair.url("w0")) == _owners(pair.url("w1"))):
        if time.monotonic() > deadline:
            raise RuntimeError("the group never settled on two owners")
        time.sleep(0.2)


def run_failover(orders: int = 40, rounds: int = 2) -> BenchResult:
    started = time.perf_counter()
    takeover: list[float] = []
    restart: list[float] = []
    spawn_to_health: list[float] = []
    with bench_run(partitions=PARTITIONS) as (settings, children, _):
        children.role(settings, "ingest")
        pair = Pair(settings, children)
        pair.spawn("w0")
        wait_http(f"{pair.url('w0')}/readyz", 180, pair.procs["w0"])
        pair.spawn("w1")
        _settle(pair)
        ids = asyncio.run(_send_orders(f"http://127.0.0.1:{settings.ingest_port}", orders))
        final = asyncio.run(_final(pair, ids))
        for _ in range(rounds):
            owned = _owners(pair.url("w0"))
            theirs = {i: final[i] for i in ids if owned[partition_for(i, PARTITIONS)] == pair.url("w1")}
            pair.kill("w1")
            takeover.append(asyncio.run(_until_answered(pair.url("w0"), theirs)))
            pair.spawn("w1")
            _settle(pair)
            asyncio.run(_until_answered(pair.url("w1"), final))

            pair.kill("w1")
            spawned = time.monotonic()
            proc = pair.spawn("w1")
            wait_http(f"{pair.url('w1')}/healthz", 180, proc)
            spawn_to_health.append(time.monotonic() - spawned)
            restart.append(asyncio.run(_until_answered(pair.url("w1"), final)) + spawn_to_health[-1])
            _settle(pair)
    session_s = settings.session_timeout_s
    worst_takeover, worst_restart = max(takeover), max(restart)
    figures = [
        Figure("failover", "kill -9 of 1 of 2 workers -> survivor answers its keys, worst", worst_takeover, "s",
               [Baseline("session timeout", session_s)], f"≤ {TAKEOVER_TARGET_S:.0f} s",
               worst_takeover <= TAKEOVER_TARGET_S, note=f"rounds: {', '.join(f'{t:.1f}' for t in takeover)}"),
        Figure("failover", "kill -9 + restart (static member) -> it answers every key, worst", worst_restart, "s",
               [Baseline("session timeout", session_s),
                Baseline("worker spawn -> /healthz, median", statistics.median(spawn_to_health))],
               f"≤ {RESTART_TARGET_S:.0f} s", worst_restart <= RESTART_TARGET_S,
               note=f"rounds: {', '.join(f'{t:.1f}' for t in restart)}"),
    ]
    return BenchResult("failover", figures, {"orders": orders, "rounds": rounds, "partitions": PARTITIONS},
                       {"takeover_s": takeover, "restart_s": restart, "spawn_to_health_s": spawn_to_health,
                        "machine": machine()}, time.perf_counter() - started)
