"""`hooklog ingest --processes N`: N ingest processes on one port, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from floor.settings import Settings
from hooklog.dev.probes import wait_http
from ingest.gateway.processes import serve_processes
from ingest.senders.signatures import signed_koywe_body
from schemas.envelope import decode_envelope
from schemas.errors import ConfigError
from tests.kafka_fixtures import REPO, SECRET, listening_inodes, read_topic, settings_env

JSON = {"Content-Type": "application/json"}


def ingest_children(parent: int) -> list[int]:
    """The parent's children that run an ingest (multiprocessing's resource tracker left out)."""
    found = []
    for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"resource_tracker" not in cmdline:
            found.append(int(pid))
    return found


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


@pytest.fixture
def start_ingest(tmp_path: Path) -> Iterator[Callable[[Settings, int], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(settings: Settings, processes: int) -> subprocess.Popen[bytes]:
        log = open(tmp_path / "ingest.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen([sys.executable, "-m", "hooklog.cli", "ingest", "--processes", str(processes)],
                                env=settings_env(settings), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        wait_http(f"http://127.0.0.1:{settings.ingest_port}/healthz", 120, proc)
        deadline = time.monotonic() + 60
        while len(listening_inodes(settings.ingest_port)) < processes and time.monotonic() < deadline:
            time.sleep(0.1)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.kafka
async def test_two_processes_share_the_port_and_store_every_acked_webhook(
    make_settings: Callable[..., Settings], start_ingest: Callable[[Settings, int], subprocess.Popen[bytes]],
) -> None:
    settings = make_settings()
    parent = start_ingest(settings, 2)
    children = ingest_children(parent.pid)
    assert len(children) == 2
    listening = listening_inodes(settings.ingest_port)
    assert len(listening) == 2
    assert all(len(socket_inodes(child) & listening) == 1 for child in children)  # each child listens
    assert not socket_inodes(parent.pid) & listening  # the parent serves nothing

    acked: dict[str, bytes] = {}
    connector = aiohttp.TCPConnector(force_close=True)  # a new connection per request: both get some
    async with aiohttp.ClientSession(connector=connector) as session:
        for n in range(30):
            sent = signed_koywe_body(orjson.dumps({"eventName": "payment_created", "orderId": f"mp-{n}"}), SECRET)
            async with session.post(f"http://127.0.0.1:{settings.ingest_port}/webhooks/koywe", data=sent,
                                    headers=JSON) as response:
                assert response.status == 200
                acked[(await response.json())["id"]] = sent
    stored = {e.id: e.body for e in map(decode_envelope, (r.value for r in await read_topic(
        settings.kafka_bootstrap_servers, settings.topic("raw"))))}
    assert stored == acked

    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{child}").exists() for child in children)  # joined by the parent


@pytest.mark.kafka
def test_a_child_that_dies_stops_the_set_with_exit_code_1(
    make_settings: Callable[..., Settings], start_ingest: Callable[[Settings, int], subprocess.Popen[bytes]],
) -> None:
    settings = make_settings()
    parent = start_ingest(settings, 2)
    first, second = ingest_children(parent.pid)
    os.kill(first, signal.SIGKILL)
    assert parent.wait(timeout=60) == 1
    assert not listening_inodes(settings.ingest_port)  # the other child stopped too
    assert not Path(f"/proc/{second}").exists()


@pytest.mark.unit
@pytest.mark.parametrize("processes", [0, -1, 65])
def test_a_process_count_out_of_range_is_a_config_error(processes: int) -> None:
    with pytest.raises(ConfigError, match="--processes"):
        serve_processes(Settings(koywe_secrets="k"), processes)
