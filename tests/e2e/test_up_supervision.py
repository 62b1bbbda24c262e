"""`hooklog up` leaves nothing behind and keeps its workers running: a SIGTERM during its
readiness wait stops every child and frees the ports; a worker killed with -9 is reported and
started again while the other keeps answering; a SIGKILL of `up` itself takes its children along
(the parent-death signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from floor.settings import Settings
from tests.kafka_fixtures import REPO, free_ports, port_free, settings_env

pytestmark = pytest.mark.kafka


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not reaped by whoever inherited it, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def children_of(pid: int) -> dict[int, dict[str, str]]:
    """Live child processes of `pid` -> their HOOKLOG_ environment."""
    found: dict[int, dict[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) != pid or not alive(int(entry.name)):
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        pairs = (item.decode(errors="replace").partition("=") for item in env if item.startswith(b"HOOKLOG_"))
        found[int(entry.name)] = {k: v for k, _, v in pairs}
    return found


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # a loaded 2-core CI machine
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    """Factory: `hooklog up <args>` with its output in a file; killed (and its children) at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    pids: set[int] = set()

    def start(settings: Settings, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"up-{len(started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "hooklog.cli", "up", *args],
                                    env={**settings_env(settings), "COLUMNS": "250"}, cwd=REPO,
                                    stdout=out, stderr=subprocess.STDOUT)
        started.append(proc)
        return proc, log

    def remember() -> None:
        for proc in started:
            pids.update(children_of(proc.pid))

    yield start
    remember()
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_sigterm_during_the_readiness_wait_stops_every_child_and_frees_the_ports(
        own_topics: None, make_settings: Callable[..., Settings], start_up: Callable[..., tuple]) -> None:
    settings = make_settings()
    up, log = start_up(settings)
    wait_until(lambda: answers(f"http://127.0.0.1:{settings.ingest_port}/healthz"), 90, "ingest's /healthz")
    children = children_of(up.pid)
    assert len(children) == 2, children  # ingest and the worker
    assert "Ctrl-C stops everything" not in log.read_text(), "the worker was ready already: not a readiness wait"
    up.send_signal(signal.SIGTERM)
    assert up.wait(timeout=90) == 0, log.read_text()[-3000:]
    assert not [pid for pid in children if alive(pid)], log.read_text()[-3000:]
    assert port_free(settings.ingest_port) and port_free(settings.worker_port)


def test_a_killed_worker_is_restarted_while_the_other_serves_and_a_killed_up_takes_its_children(
        own_topics: None, make_settings: Callable[..., Settings], start_up: Callable[..., tuple]) -> None:
    settings = make_settings(worker_port=free_ports(2))  # w1 on the port, w2 on the next one
    up, log = start_up(settings, "--workers", "2")
    wait_until(lambda: "Ctrl-C stops everything" in log.read_text() or up.poll() is not None, 240, "up's readiness")
    text = log.read_text()
    assert up.poll() is None, text[-3000:]
    ports = (settings.worker_port, settings.worker_port + 1)
    for i, port in enumerate(ports, start=1):
        assert f"worker w{i} on http://127.0.0.1:{port} (data {settings.data_dir / f'w{i}'})" in text, text
    workers = {env["HOOKLOG_WORKER_ID"]: pid for pid, env in children_of(up.pid).items() if "HOOKLOG_WORKER_ID" in env}
    assert set(workers) == {"w1", "w2"}, workers

    os.kill(workers["w2"], signal.SIGKILL)
    wait_until(lambda: f"worker w2 (pid {workers['w2']}) exited with signal SIGKILL" in log.read_text(), 60,
               "up to report the dead worker")
    survivor = f"http://127.0.0.1:{ports[0]}/healthz"
    seen: list[bool] = []

    def back() -> bool:
        seen.append(answers(survivor))  # the other worker keeps answering meanwhile
        return "worker w2 is ready again" in log.read_text()

    wait_until(back, 240, "the restarted worker's readiness")
    assert seen and all(seen), f"w1's /healthz failed {seen.count(False)} of {len(seen)} times"
    # ready again, though a rebalance (a restart slower than the session timeout) may follow it
    wait_until(lambda: answers(f"http://127.0.0.1:{ports[1]}/readyz"), 60, "the restarted worker's /readyz")
    restarted = {env["HOOKLOG_WORKER_ID"]: pid for pid, env in children_of(up.pid).items() if "HOOKLOG_WORKER_ID" in env}
    assert restarted["w1"] == workers["w1"] and restarted["w2"] != workers["w2"]

    children = children_of(up.pid)
    assert len(children) == 3  # ingest, w1, w2
    up.kill()  # no chance to clean up: the children's parent-death signal stops them
    up.wait()
    wait_until(lambda: not [pid for pid in children if alive(pid)], 90, "the orphaned children to exit")
    assert all(port_free(port) for port in (settings.ingest_port, *ports))
