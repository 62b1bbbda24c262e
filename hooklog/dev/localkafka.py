"""A real single-node KRaft Kafka broker (on 127.0.0.1 unless told another address), run from Maven Central jars.

Stdlib only: CI runs `python -m hooklog.dev.localkafka start` before any pip install.
Jars land in broker/libs (mvn), state in the spec's data_dir (default <repo>/.kafka).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from schemas.errors import HooklogError  # stdlib-only module

REPO = Path(__file__).resolve().parents[2]
BROKER_DIR = REPO / "broker"
LIBS = BROKER_DIR / "libs"
ENV_VARS = ("KAFKA_BOOTSTRAP_SERVERS", "HOOKLOG_KAFKA_BOOTSTRAP_SERVERS")  # same order as Settings
READY_TIMEOUT_S = 120.0
MVN_GOAL = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"
_children: dict[int, subprocess.Popen[bytes]] = {}  # brokers this process spawned, so we can reap them


class BrokerError(HooklogError):
    """The local broker could not be fetched, started, reached or stopped."""


@dataclass(frozen=True)
class BrokerSpec:
    """Where one broker listens and keeps its state; distinct specs run side by side."""

    port: int = 9092
    controller_port: int = 9093
    data_dir: Path = field(default_factory=lambda: REPO / ".kafka")
    heap: str = "512m"  # live set ~70 MB with 50 topics x 4 partitions; 256m ran out of memory with ~3,600 leftover test topics
    host: str = "127.0.0.1"  # the address both listeners bind and the broker advertises (tests/hosts_fixtures.py: a bridge's)
    # One node of a cluster (hooklog/dev/localcluster.py): its id, the quorum's voters
    # (`1@127.0.0.1:<port>,…`), the replication of Kafka's internal topics, properties replacing
    # or adding to the single node's (listeners, security), and extra `StorageTool format` arguments.
    node_id: int = 1
    voters: str | None = None
    replicas: int = 1
    extra: tuple[tuple[str, str], ...] = ()
    format_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Absolute, so the pid-file check and the JVM (cwd=data_dir) see the same paths.
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def props_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "broker.out"


def external_bootstrap(spec: BrokerSpec) -> str | None:
    """The env-configured cluster; it replaces the local broker for the default spec only."""
    d = BrokerSpec()
    if (spec.port, spec.controller_port, spec.data_dir, spec.host) != (d.port, d.controller_port, d.data_dir, d.host):
        return None
    return next((os.environ[v].strip() for v in ENV_VARS if os.environ.get(v, "").strip()), None)


def _api_versions_ok(host: str, port: int, timeout: float) -> bool:
    """True only if Kafka answers ApiVersions v0 with error 0: an open port may not be ready (or Kafka)."""
    client_id, corr = b"hooklog-probe", 0x686B
    body = struct.pack(">hhih", 18, 0, corr, len(client_id)) + client_id  # api_key, version, corr, client
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, sock.makefile("rb") as resp:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", resp.read(4))  # a short read (EOF) raises struct.error
            if not 6 <= size <= 1 << 20:
                return False
            resp_corr, error_code = struct.unpack(">ih", resp.read(6))  # then the api list, unread
            return resp_corr == corr and error_code == 0
    except (OSError, struct.error):
        return False


def is_ready(bootstrap: str, timeout: float = 2.0) -> bool:
    """True if any host:port in `bootstrap` answers a real Kafka request within `timeout`."""
    hostports = [item.strip().rpartition(":") for item in bootstrap.split(",")]
    return any(_api_versions_ok(h.strip("[]"), int(p), timeout) for h, _, p in hostports if h and p.isdigit())


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def fetch_jars() -> Path:
    """Copy Kafka's runtime jars into broker/libs unless they already match broker/pom.xml.

    The pom's hash goes into a marker written last, so an interrupted download or a Kafka bump
    refetches from scratch instead of leaving a partial or mixed-version classpath.
    """
    marker, digest = LIBS / ".pom.sha256", hashlib.sha256((BROKER_DIR / "pom.xml").read_bytes()).hexdigest()
    if any(LIBS.glob("kafka_2.13-*.jar")) and marker.is_file() and marker.read_text().strip() == digest:
        return LIBS
    if (mvn := shutil.which("mvn")) is None:
        raise BrokerError("Maven ('mvn') is not on PATH: install Maven 3.6+ (and Java 17+) to fetch Kafka's jars.")
    shutil.rmtree(LIBS, ignore_errors=True)
    cmd = [mvn, "-B", "-q", MVN_GOAL, "-DincludeScope=runtime", f"-DoutputDirectory={LIBS}"]
    try:
        proc = subprocess.run(cmd, cwd=BROKER_DIR, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as exc:
        raise BrokerError("mvn took over 15 min fetching Kafka's jars; check the network or Maven proxy.") from exc
    if proc.returncode != 0 or not any(LIBS.glob("kafka_2.13-*.jar")):
        lines = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr).strip().splitlines()  # mvn 3.8 -B colours
        tail = "\n".join([ln for ln in lines if ln.startswith("[ERROR] ") and ln[8:].strip()][:2] or lines[-20:])
        raise BrokerError(f"mvn could not fetch Kafka's jars (exit {proc.returncode}) in {BROKER_DIR}:\n{tail}")
    marker.write_text(digest + "\n")
    return LIBS


def _java() -> str:
    if home := os.environ.get("JAVA_HOME"):
        if not (java := Path(home, "bin", "java")).exists():
            raise BrokerError(f"JAVA_HOME={home} has no bin/java: point it at a JDK 17+ or unset it.")
        return str(java)
    if (found := shutil.which("java")) is None:
        raise BrokerError("Java not found: install a JDK 17+ or set JAVA_HOME (Kafka 4 needs Java 17).")
    return found


def server_properties(spec: BrokerSpec) -> str:
    """A combined broker+controller: alone, RF/min-ISR 1 so offsets and idempotent producers work;
    a cluster's node (spec.voters) replicates Kafka's internal topics spec.replicas times."""
    internal_isr = str(max(1, spec.replicas - 1))
    props = {
        "process.roles": "broker,controller",
        "node.id": str(spec.node_id),
        # Static voters (format without --standalone): the quorum survives a controller port change.
        "controller.quorum.voters": spec.voters or f"1@{spec.host}:{spec.controller_port}",
        "listeners": f"PLAINTEXT://{spec.host}:{spec.port},CONTROLLER://{spec.host}:{spec.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{spec.host}:{spec.port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(spec.data_dir / "kraft-data"),
        "auto.create.topics.enable": "true",
        "num.partitions": "1",
        "offsets.topic.replication.factor": str(spec.replicas),
        "offsets.topic.num.partitions": "1",  # fixed at first start; never change later
        "transaction.state.log.replication.factor": str(spec.replicas),
        "transaction.state.log.min.isr": internal_isr,
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": str(spec.replicas),
        "share.coordinator.state.topic.min.isr": internal_isr,
        "share.coordinator.state.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        # Dev/CI box: a week of history, capped at 1 GiB per partition; topics may override.
        "log.retention.hours": "168",
        "log.retention.bytes": str(1 << 30),
        "log.segment.bytes": str(64 << 20),
        # The compaction cleaner's on-heap dedupe map is 128 MiB by default: most of a small heap.
        "log.cleaner.dedupe.buffer.size": str(32 << 20),
        # A SIGKILLed broker re-registers only once its old session expires (default 9 s).
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "500",
        **dict(spec.extra),
    }
    header = "# Written by hooklog/dev/localkafka.py on every start; edit that file instead.\n"
    return header + "".join(f"{k}={v}\n" for k, v in props.items())


def new_cluster_id() -> str:
    """URL-safe base64 of 16 random bytes, as Kafka's own `Uuid.randomUuid()`: never one that
    starts with '-', which StorageTool's argument parser would read as an option (1 in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_once(spec: BrokerSpec, cluster_id: str | None = None) -> None:
    """Format KRaft storage the first time only; meta.properties marks a formatted data dir.
    A cluster's nodes share one `cluster_id`."""
    if (spec.data_dir / "kraft-data" / "meta.properties").exists():
        return
    cmd = [_java(), "-Xmx256m", f"-Dlog4j2.configurationFile={BROKER_DIR / 'tools-log4j2.properties'}",
           "-cp", str(LIBS / "*"), "kafka.tools.StorageTool", "format", "-t", cluster_id or new_cluster_id(),
           "-c", str(spec.props_file), "-g", *spec.format_args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BrokerError(f"formatting {spec.data_dir / 'kraft-data'} failed:\n{(proc.stdout + proc.stderr).strip()}"
                          "\nIf that data dir comes from another setup, delete it and retry.")


def read_pid(spec: BrokerSpec) -> int | None:
    """The pid if the pid file names a live broker of this data dir; a stale file is removed."""
    try:
        pid = int(spec.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if _alive(pid):
        cmdline = Path(f"/proc/{pid}/cmdline")  # guards against pid reuse; no /proc (macOS): trust it
        with contextlib.suppress(OSError):
            if not cmdline.exists() or str(spec.props_file).encode() in cmdline.read_bytes():
                return pid
    spec.pid_file.unlink(missing_ok=True)
    return None


def _alive(pid: int) -> bool:
    if (child := _children.get(pid)) is not None:  # our own child: reap it, or its zombie looks alive
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        pass
    with contextlib.suppress(OSError, IndexError):  # a zombie has exited; its reaper may be slow
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return True


def _tail(path: Path, lines: int = 25) -> str:
    """The end of this run's log only (runs are separated by '=== ' lines)."""
    with contextlib.suppress(OSError):
        run = path.read_text(errors="replace").rpartition("\n=== ")
        return "\n".join(("=== " + run[2]).splitlines()[-lines:])
    return "(no log written)"


@contextlib.contextmanager
def lock(spec: BrokerSpec) -> Iterator[None]:
    """Serialise start/stop per data dir so parallel callers never launch two brokers."""
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    with open(spec.data_dir / ".lock", "w") as fh:  # closing the file releases the lock
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _launch(spec: BrokerSpec) -> int:
    """Start the JVM in its own session (outlives us, no SIGHUP) with output in logs/broker.out."""
    spec.log_file.parent.mkdir(parents=True, exist_ok=True)
    if spec.log_file.exists() and spec.log_file.stat().st_size > 10 << 20:
        spec.log_file.replace(spec.log_file.with_suffix(".out.1"))
    cmd = [_java(), f"-Xms{spec.heap}", f"-Xmx{spec.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
           "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
           "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={BROKER_DIR / 'log4j2.properties'}",
           f"-Dkafka.logs.dir={spec.log_file.parent}", "-cp", str(LIBS / "*"), "kafka.Kafka", str(spec.props_file)]
    with open(spec.log_file, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {spec.bootstrap} heap {spec.heap}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=spec.data_dir, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _children[proc.pid] = proc
    spec.pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def wait_ready(spec: BrokerSpec, pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_ready(spec.bootstrap, 1.0):
            return
        if not _alive(pid):
            spec.pid_file.unlink(missing_ok=True)
            raise BrokerError(f"Kafka broker (pid {pid}) exited during start-up; see {spec.log_file}:\n"
                              f"{_tail(spec.log_file)}")
        time.sleep(0.25)
    _signal_and_wait(spec, pid, signal.SIGKILL, 10)
    raise BrokerError(f"Kafka broker not ready on {spec.bootstrap} after {timeout:.0f}s (killed it); "
                      f"see {spec.log_file}:\n{_tail(spec.log_file)}")


def ensure_broker(spec: BrokerSpec = BrokerSpec(), timeout: float = READY_TIMEOUT_S) -> str:
    """Return a bootstrap string for a broker that answers, starting a local one only if needed."""
    if (external := external_bootstrap(spec)) is not None:
        if not is_ready(external, 5.0):
            raise BrokerError(f"KAFKA_BOOTSTRAP_SERVERS={external} does not answer Kafka requests; "
                              "start that cluster or unset the variable to use the local broker.")
        return external
    if is_ready(spec.bootstrap, 1.0):
        return spec.bootstrap
    with lock(spec):  # another caller may have started it while we waited for the lock
        if (pid := read_pid(spec)) is None:
            if _port_open(spec.port, spec.host) and is_ready(spec.bootstrap, 1.0):
                return spec.bootstrap
            pid = launch(spec)
        wait_ready(spec, pid, timeout)
    return spec.bootstrap


def launch(spec: BrokerSpec, cluster_id: str | None = None, ports: tuple[int, ...] = ()) -> int:
    """Write the properties, format once and start the JVM of a broker not running (hold its
    `_lock`); its pid. A cluster launches every node before it waits for any: a node opens its
    client port only once a quorum of controllers is up. `ports`: more it listens on."""
    for port in (spec.port, spec.controller_port, *ports):
        if _port_open(port, spec.host):
            raise BrokerError(f"port {port} on {spec.host} is taken by something that is not this broker; "
                              "stop it or pick other ports (BrokerSpec(port=..., controller_port=...)).")
    fetch_jars()
    spec.props_file.write_text(server_properties(spec))
    _format_once(spec, cluster_id)
    return _launch(spec)


def _signal_and_wait(spec: BrokerSpec, pid: int, sig: signal.Signals, timeout: float) -> bool:
    """Send `sig` and wait until the pid is gone; True if it died within `timeout`."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            _children.pop(pid, None)
            spec.pid_file.unlink(missing_ok=True)
            return True
        time.sleep(0.1)
    return False


def stop_broker(spec: BrokerSpec = BrokerSpec(), timeout: float = 30) -> bool:
    """SIGTERM (Kafka's clean shutdown hook), SIGKILL after `timeout`; False if nothing of ours ran."""
    if external_bootstrap(spec) is not None:
        return False  # never touch a cluster we did not start
    with lock(spec):
        if (pid := read_pid(spec)) is None:
            return False
        if not _signal_and_wait(spec, pid, signal.SIGTERM, timeout):
            if not _signal_and_wait(spec, pid, signal.SIGKILL, 10):
                raise BrokerError(f"broker pid {pid} survived SIGKILL; check `ps -p {pid}`.")
        return True


def kill_broker(spec: BrokerSpec) -> bool:
    """SIGKILL, no clean shutdown: for fault tests that need a crashed broker."""
    if external_bootstrap(spec) is not None:
        return False
    pid = read_pid(spec)
    return pid is not None and _signal_and_wait(spec, pid, signal.SIGKILL, 10)


def broker_status(spec: BrokerSpec = BrokerSpec()) -> str:
    """One human line: who serves the spec's bootstrap and whether it answers."""
    if (external := external_bootstrap(spec)) is not None:
        return f"external {external}: {'ready' if is_ready(external) else 'NOT answering'}"
    pid, ready = read_pid(spec), is_ready(spec.bootstrap)
    if pid is not None:
        return f"running pid {pid} at {spec.bootstrap}: {'ready' if ready else 'starting or hung'} (log {spec.log_file})"
    if ready:
        return f"a broker not managed from {spec.data_dir} answers at {spec.bootstrap}"
    return f"stopped ({spec.bootstrap}, data {spec.data_dir})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hooklog.dev.localkafka", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fetch", "start", "stop", "status"])
    parser.add_argument("--port", type=int, default=BrokerSpec.port)
    parser.add_argument("--controller-port", type=int, default=BrokerSpec.controller_port)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: <repo>/.kafka")
    parser.add_argument("--heap", default=BrokerSpec.heap)
    parser.add_argument("--timeout", type=float, default=READY_TIMEOUT_S, help="seconds to wait for ready")
    args = parser.parse_args(argv)
    spec = BrokerSpec(args.port, args.controller_port, args.data_dir or BrokerSpec().data_dir, args.heap)
    try:
        if args.command == "fetch":
            print(fetch_jars())
        elif args.command == "start":
            print(ensure_broker(spec, args.timeout))
        elif args.command == "stop":
            print("stopped" if stop_broker(spec) else "not running (nothing to stop)")
        else:
            print(broker_status(spec))
            return 0 if is_ready(external_bootstrap(spec) or spec.bootstrap) else 1
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
