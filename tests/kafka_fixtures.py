"""Real-broker fixtures: one broker per session, a fresh uuid topic prefix per test.

`ensure_broker()` reuses a broker that already answers on 127.0.0.1:9092, starts the project's
own (Maven Central jars, KRaft) otherwise, or uses KAFKA_BOOTSTRAP_SERVERS when set.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from floor.kafka.metadata import topic_partitions
from floor.settings import Settings
from hooklog.dev.localkafka import BrokerSpec, ensure_broker, is_ready, kill_broker, stop_broker
from hooklog.dev.probes import wait_http
from hooklog.dev.simulate import FINAL_STATE, LIFECYCLES, Delivery, lifecycle, post, scramble
from floor.kafka.names import worker_group

REPO = Path(__file__).resolve().parents[1]
SECRET = "test-koywe-secret"
API_TOKEN = "test-api-token"  # the worker's query API refuses requests without a bearer token


def api_headers(token: str = API_TOKEN) -> dict[str, str]:
    """The header the worker's query/DLQ API wants (see streams/api/access.py)."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return ensure_broker()


def _ephemeral_low() -> int:
    """The first port the kernel hands out for outgoing connections (Linux default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_free(port: int) -> bool:
    """Whether a server could bind 127.0.0.1:`port` now (SO_REUSEADDR, as servers set it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int = 1) -> int:
    """The first of `count` consecutive free ports (`hooklog up --workers N` uses port, port+1, …),
    below the kernel's ephemeral range: a port from that range, free when picked, can be taken by
    any outgoing connection (a Kafka client's) before a worker binds it, or binds it again after a
    restart (seen: `up`'s second worker failed with "address already in use")."""
    high = _ephemeral_low() - count
    for _ in range(200):
        base = random.randrange(20_000, high)
        if all(port_free(p) for p in range(base, base + count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports in 20000..{high}")


def free_port() -> int:
    return free_ports(1)


def listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on 127.0.0.1:`port` (/proc/net/tcp, state 0A)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":
            inodes.add(fields[9])
    return inodes


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Drop one test's topics (`<prefix>.*` and Faust's `<prefix>-worker-*`) from the shared
    broker: thousands of leftover test topics exhaust its heap. Best effort, in a thread of its
    own so it never touches pytest-asyncio's loop."""

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t.startswith((f"{prefix}.", f"{prefix}-"))]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()

    def target() -> None:
        try:
            asyncio.run(run())
        except Exception as exc:  # noqa: BLE001 - cleanup must not fail a test
            print(f"could not delete the topics of {prefix}: {exc!r}", file=sys.stderr)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(30)


@pytest.fixture
def own_topics(make_settings: Callable[..., Settings]) -> Iterator[None]:
    """Drops the test's topics at the end. Request it before `run_system`, so it runs after the
    processes stopped: leftover test partitions (thousands) exhausted the local broker's heap."""
    yield
    settings = make_settings()
    delete_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)


@pytest.fixture
def make_settings(kafka_bootstrap: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Settings]]:
    """Factory: Settings on the session broker with a fresh topic prefix, free ports, a tmp datadir.
    A test marked `cluster` gets the session's three-node cluster instead (tests/cluster_fixtures.py).
    The prefix's topics are deleted from that broker afterwards."""
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    if request.node.get_closest_marker("cluster"):
        kafka_bootstrap = request.getfixturevalue("cluster_up").bootstrap

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": kafka_bootstrap, "topic_prefix": prefix, "partitions": 2,
            "koywe_secrets": SECRET, "api_tokens": API_TOKEN, "ingest_port": free_port(), "worker_port": free_port(),
            "data_dir": tmp_path / "data", "produce_timeout_s": 5.0,
        }
        values.update(overrides)
        return Settings(**values)

    yield make
    delete_topics(kafka_bootstrap, prefix)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process see `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLOG_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.kafka_bootstrap_servers
    for name, value in settings.model_dump().items():
        if name in ("kafka_bootstrap_servers", "sources") or value is None:
            continue
        secret = getattr(value, "get_secret_value", None)
        if isinstance(value, dict | list | tuple):  # JSON, as pydantic-settings reads it (HOOKLOG_RATE_LIMITS)
            env[f"HOOKLOG_{name.upper()}"] = orjson.dumps(value).decode()
        else:
            env[f"HOOKLOG_{name.upper()}"] = str(secret() if secret else value)
    if settings.sources:
        env["HOOKLOG_SOURCES"] = orjson.dumps(
            [{**c.model_dump(), "secrets": c.secrets.get_secret_value()} for c in settings.sources]
        ).decode()
    return env


def hooklog(settings: Settings, *args: str, answer: str = "", timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (killed, and the test failed, after `timeout_s`); stderr comes back with
    rich's line wrapping undone."""
    done = subprocess.run([sys.executable, "-m", "hooklog.cli", *args], env=settings_env(settings), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout_s, input=answer)
    done.stderr = " ".join(done.stderr.split())
    return done


async def read_topic(bootstrap: str, topic: str, timeout_s: float = 15.0) -> list[Any]:
    """Every record of `topic` from the beginning to its current end (no group, no commit)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = await topic_partitions(Settings(kafka_bootstrap_servers=bootstrap), topic)
        deadline = time.monotonic() + timeout_s
        while not partitions and time.monotonic() < deadline:  # the topic may be being created
            partitions = await topic_partitions(Settings(kafka_bootstrap_servers=bootstrap), topic)
        if not partitions:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        start = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, start[tp])
        records: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {topic} timed out")
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
        return records
    finally:
        await consumer.stop()


async def committed_offsets(settings: Settings) -> dict[int, int]:
    """The worker group's committed offsets on the raw topic, by partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(worker_group(settings))
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == settings.topic("raw")}


def samples(text: str, name: str) -> dict[str, float]:
    """`{labels: value}` of one metric in Prometheus text format."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line[len(name):].rpartition(" ")
            found[labels] = float(value)
    return found


async def metrics_of(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(f"{url}/metrics") as response:
        assert response.status == 200
        return await response.text()


async def caught_up(session: aiohttp.ClientSession, system: System, timeout_s: float = 60.0) -> str:
    """The worker's /metrics once its consumer lag is known and 0 on every raw partition: it has
    folded, published and committed all the raw topic holds (it counts and logs a batch before
    committing it). Fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = await metrics_of(session, system.worker_url)
        lags = samples(text, "hooklog_worker_consumer_lag")
        if len(lags) == system.settings.partitions and not any(lags.values()):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker did not catch up in {timeout_s:.0f}s: consumer lag {lags}")
        await asyncio.sleep(0.2)


@dataclass
class System:
    """ingest and workers as real child processes (`hooklog ingest` / `hooklog worker`).

    Role `worker` is the single worker of `settings`; `start_worker("w1")` runs one more
    `hooklog worker` of the same group with its own port, data dir and worker id (static member)."""

    settings: Settings
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env_overrides: dict[str, str | None] = field(default_factory=dict)  # None removes a variable
    ports: dict[str, int] = field(default_factory=dict)  # named workers' ports (start_worker)
    client_tls: ssl.SSLContext | None = None  # what the probes verify an https server with
    hosts: Any = None  # tests/hosts_fixtures.py's Hosts: each role on a host of its own; None: all on 127.0.0.1

    def address(self, role: str) -> str:
        """The address `role` binds, advertises and is reached at."""
        return "127.0.0.1" if self.hosts is None else self.hosts.host(role).address

    @property
    def scheme(self) -> str:
        """https when the settings name a certificate (ingest and workers serve TLS), else http."""
        return "http" if self.settings.tls_cert_file is None else "https"

    @property
    def ingest_url(self) -> str:
        return f"{self.scheme}://{self.address('ingest')}:{self.settings.ingest_port}"

    @property
    def worker_url(self) -> str:
        return f"{self.scheme}://{self.address('worker')}:{self.settings.worker_port}"

    def url_of(self, role: str) -> str:
        return f"{self.scheme}://{self.address(role)}:{self.ports[role]}" if role in self.ports else self.worker_url

    def start(self, role: str, *, wait: bool = True, piped: bool = False) -> None:
        """`piped`: the child writes its log to a pipe that a thread here copies into the log
        file, so a file-size limit put on the child (RLIMIT_FSIZE) leaves its log alone."""
        command = "worker" if role in self.ports else role
        log = open(self.logs / f"{role}.log", "ab")  # noqa: SIM115 - owned by the child or the relay
        env = {**settings_env(self.settings), **self.env_overrides}
        if role in self.ports:
            env.update({"HOOKLOG_WORKER_PORT": str(self.ports[role]), "HOOKLOG_WORKER_ID": role,
                        "HOOKLOG_DATA_DIR": str(self.settings.data_dir / role)})
        prefix: list[str] = []
        if self.hosts is not None:  # on its own host: bound to (and advertising) that host's address only
            env["HOOKLOG_INGEST_HOST" if command == "ingest" else "HOOKLOG_WORKER_HOST"] = self.address(role)
            prefix = self.hosts.host(role).run
        self.procs[role] = subprocess.Popen(
            [*prefix, sys.executable, "-m", "hooklog.cli", command], env={k: v for k, v in env.items() if v is not None},
            cwd=REPO, stdout=subprocess.PIPE if piped else log, stderr=subprocess.STDOUT,
        )
        if piped:
            threading.Thread(target=_relay, args=(self.procs[role].stdout, log), daemon=True).start()
        if wait:  # the worker is ready once its tables are restored and its partitions assigned
            url = f"{self.ingest_url}/healthz" if role == "ingest" else f"{self.url_of(role)}/readyz"
            wait_http(url, 120, self.procs[role], self.client_tls)

    def start_worker(self, name: str, *, wait: bool = True) -> str:
        """One more worker of the group (same command users run), its URL; restart by name."""
        self.ports.setdefault(name, free_port())
        self.start(name, wait=wait)
        return self.url_of(name)

    def stop(self, role: str, sig: int = 15, timeout_s: float = 30) -> int:
        proc = self.procs.pop(role)
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    async def send(self, deliveries: Iterable[Delivery]) -> None:
        """POST each signed Koywe delivery to ingest, in order, as the provider would; each must be acked."""
        async with aiohttp.ClientSession() as session:
            for delivery in deliveries:
                status, answer = await post(session, f"{self.ingest_url}/webhooks/koywe", delivery.body)
                assert status == 200, (status, answer)

    def log_text(self, role: str) -> str:
        return (self.logs / f"{role}.log").read_text(errors="replace")


def _relay(stream: Any, log: Any) -> None:
    """Copy a child's output into its log file, line by line, until the child closes it."""
    with log:
        for line in iter(stream.readline, b""):
            log.write(line)
            log.flush()


@pytest.fixture
def run_system(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Callable[..., System]]:
    """Factory: start the named roles (default ingest + worker) on fresh topics; stopped at teardown.
    `workers=N` starts ingest and N named workers `w0`..`w<N-1>` instead (one group); `client_tls`
    verifies the servers when the settings make them serve https; `hosts` (tests/hosts_fixtures.py)
    runs each role on a host of its own."""
    systems: list[System] = []

    def start(*roles: str, workers: int = 0, client_tls: ssl.SSLContext | None = None, hosts: Any = None,
              **overrides: Any) -> System:
        system = System(make_settings(**overrides), tmp_path, client_tls=client_tls, hosts=hosts)
        systems.append(system)
        for role in roles or (("ingest",) if workers else ("ingest", "worker")):
            system.start(role)
        for i in range(workers):
            system.start_worker(f"w{i}")
        return system

    yield start
    for system in systems:
        for role in list(system.procs):
            system.stop(role)


@pytest.fixture
def private_spec(tmp_path: Path) -> Iterator[BrokerSpec]:
    """Where a broker of the test's own would run (free ports, tmp data dir), not started yet;
    whatever the test does with it, it is stopped afterwards. 256 MiB of heap: a private broker
    holds a test's few topics (the shared one holds everyone's)."""
    spec = BrokerSpec(port=free_port(), controller_port=free_port(), data_dir=tmp_path / "kafka", heap="256m")
    assert not is_ready(spec.bootstrap, 0.5), f"something already answers on {spec.bootstrap}"
    try:
        yield spec
    finally:
        if not stop_broker(spec, timeout=20):
            kill_broker(spec)


@pytest.fixture
def private_broker(private_spec: BrokerSpec) -> BrokerSpec:
    """A broker of the test's own, started, that it may stop, kill and restart."""
    ensure_broker(private_spec)
    return private_spec


# Many workers (tests/e2e): waits on every worker's view of the group.


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes, dict[str, str]]:
    async with session.get(url) as response:
        return response.status, await response.read(), dict(response.headers)


async def ready_views(session: aiohttp.ClientSession, urls: list[str]) -> list[dict[str, Any]] | None:
    """Every worker's /readyz body once all answer 200 with one and the same assignment."""
    views = []
    for url in urls:
        try:
            status, body, _ = await get(session, f"{url}/readyz")
        except aiohttp.ClientError:
            return None
        if status != 200:
            return None
        views.append(orjson.loads(body))
    return views if all(v["owners"] == views[0]["owners"] for v in views) else None


async def until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s")


def owned_by(views: list[dict[str, Any]], url: str) -> set[int]:
    return {int(p) for p, owner in views[0]["owners"].items() if owner == url}


@dataclass
class Orders:
    """Orders sent through ingest: id -> its lifecycle's deliveries, and the final state's kind."""

    plans: dict[str, list[Delivery]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def add(self, count: int, rng: random.Random) -> list[Delivery]:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        out: list[Delivery] = []
        for _ in range(count):
            kind = rng.choice(list(LIFECYCLES))
            plan = lifecycle(kind, SECRET, start=start, order_id=f"ord-{uuid.uuid4().hex[:12]}")
            self.plans[plan[0].order_id], self.kinds[plan[0].order_id] = plan, kind
            out.extend(scramble(plan, rng, duplicates=0.2))
        return out

    def done(self, order_id: str, body: bytes) -> bool:
        state = orjson.loads(body)
        return state["state"] == FINAL_STATE[self.kinds[order_id]] and len(state["history"]) == len(self.plans[order_id])


async def send(session: aiohttp.ClientSession, system: System, deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        status, answer = await post(session, f"{system.ingest_url}/webhooks/koywe", delivery.body)
        assert status == 200, answer


async def answers(session: aiohttp.ClientSession, url: str, ids: list[str]) -> dict[str, tuple[int, bytes]]:
    got = await asyncio.gather(*(get(session, f"{url}/orders/{i}") for i in ids))
    return {i: (status, body) for i, (status, body, _) in zip(ids, got, strict=True)}


async def all_final(session: aiohttp.ClientSession, urls: list[str], orders: Orders) -> dict[str, bytes] | None:
    """{order id: body} when every worker answers every order 200, final and byte-identical."""
    ids = list(orders.plans)
    first: dict[str, bytes] = {}
    for url in urls:
        try:
            got = await answers(session, url, ids)
        except aiohttp.ClientConnectionError:  # a worker (re)starting
            return None
        for order_id, (status, body) in got.items():
            if status != 200 or not orders.done(order_id, body) or first.setdefault(order_id, body) != body:
                return None
    return first


# Notification sinks (tests/streams/notify): a real HTTP server in the test's own loop.


@dataclass
class Receiver:
    """A local HTTP endpoint a notifier delivers to; `mode` decides each answer: "ok" (200),
    "fail" (500), "hang" (never answers). Every request is kept, answered or not."""

    mode: str = "ok"
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""
    runner: Any = None

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "fail":
            return web.Response(status=500, text="sink down")
        self.accepted.append((dict(request.headers), body))
        return web.Response(status=200, text="ok")

    async def start(self, path: str = "/hook") -> Receiver:
        from aiohttp import web

        app = web.Application()
        app.router.add_post(path, self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{path}"
        return self


@pytest.fixture
async def receivers() -> Any:
    """Factory: `await receivers(mode)` -> a started Receiver; all stopped at teardown."""
    started: list[Receiver] = []

    async def make(mode: str = "ok", path: str = "/hook") -> Receiver:
        receiver = await Receiver(mode).start(path)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        await receiver.runner.cleanup()


ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")  # Debian's package, installed by .ci/setup-tests


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager on a free port with its own storage dir and no cluster; its URL."""
    if not ALERTMANAGER.exists():
        pytest.fail(f"{ALERTMANAGER} is missing: run .ci/setup-tests (installs Debian's prometheus-alertmanager)")
    home = tmp_path / "alertmanager"
    home.mkdir()
    (home / "alertmanager.yml").write_text("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n")
    port = free_port()
    log = open(home / "log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen([str(ALERTMANAGER), f"--config.file={home / 'alertmanager.yml'}",
                             f"--storage.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready", 60, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
