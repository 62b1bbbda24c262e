"""What every benchmark shares: a fresh topic prefix, child processes, topics, offsets, RSS.

Each benchmark runs on its own uuid topic prefix (`bench-<hex>`) against the real broker,
starts `hooklog ingest` / `hooklog worker` as child processes with a Settings-derived
environment (as tests/kafka_fixtures.py does), and deletes every topic of its prefix at the end.
"""

from __future__ import annotations

from hooklog.dev.probes import wait_http  # noqa: F401 - re-exported for the benchmarks

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from floor.kafka import clients
from floor.settings import Settings
from hooklog.dev.localkafka import ensure_broker

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
SECRET = "bench-koywe-secret"
API_TOKEN = "bench-api-token-of-the-benches"  # bearer token of the worker's query API (HOOKLOG_API_TOKENS)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cluster(bootstrap: str) -> Settings:
    """The settings that reach `bootstrap`: the connection's security (KAFKA_SECURITY_PROTOCOL,
    SASL, TLS) from the environment, as every hooklog process takes it; the clients below are
    built by floor/kafka/clients.py from it."""
    return Settings(kafka_bootstrap_servers=bootstrap)


def new_settings(workdir: Path, **overrides: Any) -> Settings:
    """Settings on the local broker with a fresh uuid topic prefix, free ports, a private datadir."""
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": ensure_broker(), "topic_prefix": f"bench-{uuid.uuid4().hex[:10]}",
        "koywe_secrets": SECRET, "ingest_port": free_port(), "worker_port": free_port(),
        "data_dir": workdir / "data",
    }
    if "api_tokens" in Settings.model_fields:  # the worker's API is closed without one
        values["api_tokens"] = API_TOKEN
    if "rate_limits" in Settings.model_fields:  # flat-out load must measure the work, not the 429s
        values["rate_limits"] = {"*": {"rate": 1e9, "burst": 10**9}}
    values.update(overrides)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process see `settings` (HOOKLOG_* replaced)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLOG_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers
    as_json = settings.model_dump(mode="json")
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        if name == "kafka_bootstrap_servers" or value is None or value == info.default:
            continue
        secret = getattr(value, "get_secret_value", None)
        if secret is not None:
            env[f"HOOKLOG_{name.upper()}"] = secret()
        elif isinstance(value, (str, int, float, Path)):
            env[f"HOOKLOG_{name.upper()}"] = str(value)
        else:  # complex fields (lists, models): pydantic-settings reads them as JSON
            env[f"HOOKLOG_{name.upper()}"] = json.dumps(as_json[name])
    return env


@dataclass
class Children:
    """Child processes of one benchmark; `close()` stops whatever is still running."""

    logdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str], *, cwd: Path = REPO,
              cpus: set[int] | None = None) -> subprocess.Popen[bytes]:
        """`argv` as a child in `cwd` (another source tree for a before/after arm), started on
        `cpus` when given (bench/machine.py: the servers under test off the loadgen's core)."""
        from bench.machine import pin_self_to

        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=(lambda: pin_self_to(cpus)) if cpus else None)
        self.procs.append(proc)
        return proc

    def role(self, settings: Settings, role: str, timeout_s: float = 120,
             extra_env: dict[str, str] | None = None, *, name: str | None = None, cwd: Path = REPO,
             cpus: set[int] | None = None) -> subprocess.Popen[bytes]:
        """`hooklog ingest|worker` as a child, waited for until /healthz answers. `extra_env`
        adds variables (e.g. Faust's own PRODUCER_LINGER, to try a tuning without editing code);
        `cwd` runs another source tree's code (its modules come first on sys.path)."""
        name = name or role
        proc = self.spawn(name, [sys.executable, "-m", "hooklog.cli", role],
                          {**settings_env(settings), **(extra_env or {})}, cwd=cwd, cpus=cpus)
        port = settings.ingest_port if role == "ingest" else settings.worker_port
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout_s, proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- {name} log ---\n{self.log_tail(name)}") from None
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.logdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], timeout_s: float = 20) -> int:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
        return proc.wait()

    def close(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)
        self.procs.clear()


@contextmanager
def bench_run(**overrides: Any) -> Iterator[tuple[Settings, Children, Path]]:
    """A fresh prefix, a temp workdir and a child-process set; topics of the prefix deleted after."""
    workdir = Path(tempfile.mkdtemp(prefix="hooklog-bench-"))
    settings = new_settings(workdir, **overrides)
    children = Children(workdir)
    try:
        yield settings, children, workdir
    finally:
        children.close()
        try:
            asyncio.run(delete_topics(settings.kafka_bootstrap_servers, settings.topic_prefix))
        except Exception as exc:  # noqa: BLE001 - never hide the benchmark's own error behind this
            print(f"[bench] could not delete the topics of {settings.topic_prefix} ({exc!r}); "
                  "`python -m bench clean` removes leftovers", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


async def delete_topics(bootstrap: str, prefix: str) -> list[str]:
    """Delete every topic whose name holds `prefix` (ours, Faust's and Quix's changelogs)."""
    admin = clients.admin(cluster(bootstrap))
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if prefix in t]
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    from aiokafka.admin import NewTopic

    admin = clients.admin(cluster(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


class OffsetWatcher:
    """Sum of end offsets of some topics: how many records the broker has acked on them."""

    def __init__(self, bootstrap: str, topics: Iterable[str], partitions: int) -> None:
        self._tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self._consumer = clients.consumer(cluster(bootstrap), enable_auto_commit=False, group_id=None)

    async def __aenter__(self) -> OffsetWatcher:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def total(self) -> int:
        ends = await self._consumer.end_offsets(self._tps)
        return sum(ends.values())

    async def wait_for(self, target: int, timeout_s: float, poll_s: float = 0.05,
                       alive: subprocess.Popen[bytes] | None = None,
                       on_first: Callable[[], None] | None = None) -> tuple[float, int, float, int]:
        """Poll until the total reaches `target`; returns (t_first, n_first, t_done, n_done), where
        `first` is the first poll that saw progress (startup excluded from the rate)."""
        base = await self.total()
        deadline = time.monotonic() + timeout_s
        first: tuple[float, int] | None = None
        while True:
            now, n = time.perf_counter(), await self.total() - base
            if first is None and n > 0:
                first = (now, n)
                if on_first is not None:
                    on_first()
            if n >= target:
                assert first is not None
                return first[0], first[1], now, n
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {n} of {target} records after {timeout_s:.0f}s")
            if alive is not None and alive.poll() is not None:
                raise RuntimeError(f"{alive.args} exited with {alive.returncode} after {n} of {target} records")
            await asyncio.sleep(poll_s)


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> tuple[int, float]:
    """Pipelined, acks=all: returns (records, seconds). Used to lay down benchmark data."""
    producer = clients.producer(cluster(bootstrap), acks="all", enable_idempotence=True,
                                linger_ms=5, max_batch_size=512 * 1024, max_request_size=4 * 1024 * 1024)
    await producer.start()
    start, count, pending = time.perf_counter(), 0, []
    try:
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count, time.perf_counter() - start


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process in KiB, from /proc."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(rest.split()[0])
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (its threads included)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_pid(bootstrap: str | None = None) -> int | None:
    """The local broker's pid, however it was started (bench/machine.py); None for a remote
    cluster or when no process on this machine listens on the bootstrap port."""
    from bench.machine import find_broker

    return find_broker(bootstrap)[0]


def _machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Cores used by named processes (and the whole machine) between `start()` and `stop()`:
    which process the CPU went to is the first thing a bottleneck analysis needs."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self._begin: dict[str, float] = {}
        self._t0 = 0.0
        self._machine0 = (0.0, 0.0)

    def start(self) -> CpuMeter:
        self._t0 = time.perf_counter()
        self._machine0 = _machine_busy()
        self._begin = {}
        for name, pid in self.pids.items():
            try:
                self._begin[name] = cpu_seconds(pid)
            except OSError:
                pass
        return self

    def stop(self) -> dict[str, float]:
        """{name: cores used on average, ..., "machine busy": cores, "machine cores": n}."""
        wall = time.perf_counter() - self._t0
        out: dict[str, float] = {}
        for name, before in self._begin.items():
            try:
                out[name] = round((cpu_seconds(self.pids[name]) - before) / wall, 2)
            except OSError:
                pass
        busy, total = _machine_busy()
        out["machine busy"] = round((busy - self._machine0[0]) / wall, 2)
        out["machine cores"] = round((total - self._machine0[1]) / wall, 2)
        return out
