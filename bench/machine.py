"""What a figure was measured on and with whom: CPU model, the broker's process, core pinning.

- `machine()`: CPU model (from /proc/cpuinfo), cores, Python; printed in every table and JSON.
- `find_broker()`: the broker's pid however it was started. The pid file of
  `hooklog.dev.localkafka` only knows a broker this checkout launched; a shared broker started
  from another checkout (or by hand) is found by the socket listening on the bootstrap port
  (/proc/net/tcp* -> socket inode -> /proc/<pid>/fd), then by a `kafka.Kafka` java command line.
  Without it the broker's CPU silently dropped out of every split.
- `LOADGEN_CPUS` / `SERVER_CPUS`: the load generator gets the last core to itself and the
  servers under test the others, so client and server do not fight for one core. On 2 cores
  that is CPU 1 for the loadgen and CPU 0 for the server; the broker and other people's work
  are not ours to pin and still float over both (the split records what they used).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """`model name` of the first CPU in /proc/cpuinfo ("" when unreadable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
            "platform": platform.platform(), "loadgen_cpus": sorted(LOADGEN_CPUS or ()),
            "server_cpus": sorted(SERVER_CPUS or ())}


def _usable_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def _split() -> tuple[set[int] | None, set[int] | None]:
    cpus = _usable_cpus()
    if len(cpus) < 2:
        return None, None  # one core: nothing to separate
    return {cpus[-1]}, set(cpus[:-1])


LOADGEN_CPUS, SERVER_CPUS = _split()


def pin(pid: int, cpus: set[int] | None) -> bool:
    """Restrict `pid` (all its threads, as `taskset -a`) to `cpus`; False if not possible."""
    if not cpus:
        return False
    ok = False
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
            ok = True
        except OSError:
            pass
    return ok


def pin_self_to(cpus: set[int] | None) -> None:
    """A `preexec_fn`: the child starts on `cpus` (inherited by every thread it makes)."""
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError:
            pass


# --------------------------------------------------------------------------- the broker


def _port_of(bootstrap: str) -> int | None:
    first = bootstrap.split(",")[0].strip()
    _, _, port = first.rpartition(":")
    return int(port) if port.isdigit() else None


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (any address), from /proc/net/tcp and tcp6."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rpartition(":")[2], 16) == port:
                inodes.add(parts[9])
    return inodes


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def pid_listening_on(port: int) -> int | None:
    """The process holding a listening socket on `port`, or None (not there, or not readable)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return None
    for pid in _pids():
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(fd.path) in wanted:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def kafka_java_pids() -> list[int]:
    """Processes whose command line runs `kafka.Kafka` (the broker's main class)."""
    found = []
    for pid in _pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"java") and b"kafka.Kafka" in argv:
            found.append(pid)
    return found


def find_broker(bootstrap: str | None = None) -> tuple[int | None, str]:
    """(pid, how it was found) of the broker answering `bootstrap` on this machine; (None, why)
    for a remote cluster or when nothing matches. The pid file is tried first, then the
    listening port, then the java command line (only if exactly one broker runs)."""
    from hooklog.dev.localkafka import BrokerSpec

    spec = BrokerSpec()
    bootstrap = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or spec.bootstrap
    host = bootstrap.split(",")[0].rpartition(":")[0].strip("[]")
    if host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", ""):
        return None, f"remote cluster {bootstrap}: its CPU is not on this machine"
    try:
        pid = int(spec.pid_file.read_text().split()[0])
        if Path(f"/proc/{pid}").exists() and b"kafka" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid, f"pid file {spec.pid_file}"
    except (OSError, ValueError, IndexError):
        pass
    port = _port_of(bootstrap)
    if port is not None and (pid := pid_listening_on(port)) is not None:
        return pid, f"listening on port {port} (/proc)"
    javas = kafka_java_pids()
    if len(javas) == 1:
        return javas[0], "the one kafka.Kafka java process (/proc)"
    return None, f"no process found listening on {bootstrap} ({len(javas)} kafka.Kafka processes)"
