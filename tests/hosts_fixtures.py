"""Hosts on one machine: ingest and each worker in a Linux network namespace of its own.

Every other test runs all processes on 127.0.0.1, where the network between hosts cannot fail.
Here each role is a host: its own namespace, its own addresses, bound to and advertising only
those, and it reaches a broker of the test's own over a link the test can cut.

One run (tag `hl<pid>x<n>`) makes, in the test's own namespace:
- the service network: bridge `<tag>s`, 10.213.N.0/24, the test itself at .1 (clients, and the
  workers forwarding to each other);
- the broker network: bridge `<tag>k`, 10.214.N.0/24, the test's broker at .1;
- per host, namespace `<tag>-<role>` with `lo` up and two veth pairs, `svc` on the service
  bridge and `kafka` on the broker bridge, at .10, .11, … on both. No default route and no
  forwarding: a host reaches nothing beyond its two links.
`cut(role)` takes the host's broker link down at the bridge (its packets to the broker are lost,
as in a network partition, while clients still reach it); `heal(role)` brings it back.

Everything is removed at teardown whatever the test did, and at start the namespaces and links
of runs whose process is gone (a crashed or killed pytest) are removed first. Where namespaces
cannot be made (not root, no `ip`, a kernel or container that refuses) the tests skip, saying why.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hooklog.dev.localkafka import BrokerSpec, ensure_broker, kill_broker, stop_broker
from tests.kafka_fixtures import System, free_port

SERVICE_NET, BROKER_NET = "10.213", "10.214"  # /16s whose /24s the runs take, one each
FIRST_HOST = 10  # hosts are .10, .11, …; .1 is the test's own side of each bridge
STALE = re.compile(r"^hl(\d+)x\d+")
_runs = itertools.count()


class NamespaceError(RuntimeError):
    """An `ip` command failed: the hosts cannot be made (or removed) on this machine."""


def ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise NamespaceError(f"`ip {' '.join(args)}` failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_stale() -> list[str]:
    """Remove the namespaces and links of runs whose pytest process is gone; what was removed."""
    removed = []
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        if (match := STALE.match(name)) and _gone(int(match[1])):
            ip("netns", "delete", name)
            removed.append(name)
    for line in ip("-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().partition("@")[0] if ":" in line else ""
        if (match := STALE.match(name)) and _gone(int(match[1])):
            subprocess.run(["ip", "link", "delete", name], capture_output=True, timeout=30, check=False)
            removed.append(name)
    return removed


def free_subnet() -> int:
    """N such that 10.213.N.0/24 and 10.214.N.0/24 are on no interface of this machine."""
    taken = ip("-o", "addr", "show")
    candidates = list(range(250))
    random.shuffle(candidates)  # two runs at once rarely race for one
    for n in candidates:
        if f"{SERVICE_NET}.{n}." not in taken and f"{BROKER_NET}.{n}." not in taken:
            return n
    raise NamespaceError(f"no free /24 left in {SERVICE_NET}.0.0/16 and {BROKER_NET}.0.0/16")


@dataclass(frozen=True)
class Host:
    """One role's host: its namespace, its address on the service network, what runs a command in it."""

    namespace: str
    address: str
    broker_link: str  # the test's end of its broker link: what cut/heal set down/up

    @property
    def run(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]


@dataclass
class Hosts:
    """The run's two networks and its hosts, made on first use of a role (`host(role)`)."""

    tag: str
    subnet: int
    hosts: dict[str, Host] = field(default_factory=dict)

    @property
    def service_bridge(self) -> str:
        return f"{self.tag}s"

    @property
    def broker_bridge(self) -> str:
        return f"{self.tag}k"

    @property
    def broker_address(self) -> str:
        """Where the test's broker listens: the test's own side of the broker network."""
        return f"{BROKER_NET}.{self.subnet}.1"

    def make_networks(self) -> None:
        for bridge, net in ((self.service_bridge, SERVICE_NET), (self.broker_bridge, BROKER_NET)):
            ip("link", "add", bridge, "type", "bridge")
            ip("addr", "add", f"{net}.{self.subnet}.1/24", "dev", bridge)
            ip("link", "set", bridge, "up")

    def host(self, role: str) -> Host:
        if role not in self.hosts:
            index = len(self.hosts)
            namespace, last = f"{self.tag}-{role}", FIRST_HOST + index
            ip("netns", "add", namespace)
            self.hosts[role] = Host(namespace, f"{SERVICE_NET}.{self.subnet}.{last}", f"{self.tag}{index}k")
            ip("-n", namespace, "link", "set", "lo", "up")
            for inside, bridge, net in (("svc", self.service_bridge, SERVICE_NET),
                                        ("kafka", self.broker_bridge, BROKER_NET)):
                outside = f"{self.tag}{index}{bridge[-1]}"
                ip("link", "add", outside, "type", "veth", "peer", "name", inside, "netns", namespace)
                ip("link", "set", outside, "master", bridge, "up")
                ip("-n", namespace, "addr", "add", f"{net}.{self.subnet}.{last}/24", "dev", inside)
                ip("-n", namespace, "link", "set", inside, "up")
        return self.hosts[role]

    def cut(self, role: str) -> None:
        """The host loses its link to the broker; clients and the other hosts still reach it."""
        ip("link", "set", self.host(role).broker_link, "down")

    def heal(self, role: str) -> None:
        ip("link", "set", self.host(role).broker_link, "up")

    def routes(self, role: str) -> list[str]:
        """The host's routing table, one route a line (only its two links: nothing beyond them)."""
        return ip("-n", self.host(role).namespace, "route", "show").splitlines()

    def remove(self) -> None:
        """Namespaces (their veth ends go with them, and so the bridges' ends) and the bridges."""
        for host in self.hosts.values():
            subprocess.run(["ip", "netns", "delete", host.namespace], capture_output=True, timeout=30, check=False)
        for bridge in (self.service_bridge, self.broker_bridge):
            subprocess.run(["ip", "link", "delete", bridge], capture_output=True, timeout=30, check=False)


def _cannot_make() -> str | None:
    """Why this machine cannot make the hosts (None: it can)."""
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2) on PATH"
    if os.geteuid() != 0:
        return "making network namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    probe = f"hl{os.getpid()}x{next(_runs)}-probe"
    try:
        ip("netns", "add", probe)
    except NamespaceError as exc:
        return f"network namespaces cannot be made here: {exc}"
    ip("netns", "delete", probe)
    return None


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    """The run's networks, hosts made on demand; all removed afterwards, passed or failed."""
    reason = _cannot_make()
    if reason is not None:
        pytest.skip(reason)
    remove_stale()
    made = Hosts(f"hl{os.getpid()}x{next(_runs)}", free_subnet())
    try:
        made.make_networks()
        yield made
    finally:
        made.remove()


@pytest.fixture
def hosts_broker(hosts: Hosts, tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own on the broker network (never the shared 127.0.0.1:9092); its bootstrap."""
    spec = BrokerSpec(port=free_port(), controller_port=free_port(), data_dir=tmp_path / "kafka", heap="256m",
                      host=hosts.broker_address)
    try:
        yield ensure_broker(spec)
    finally:
        if not stop_broker(spec, timeout=20):
            kill_broker(spec)


@pytest.fixture
def run_on_hosts(hosts: Hosts, hosts_broker: str, run_system: Callable[..., System]) -> Callable[..., System]:
    """`run_system` with every role on a host of its own and the test's broker. Requested after
    `hosts` and the broker, so its processes stop before the broker and the namespaces go."""

    def start(*roles: str, **overrides: Any) -> System:
        return run_system(*roles, hosts=hosts, kafka_bootstrap_servers=hosts_broker, **overrides)

    return start
