"""The worker's web server over HTTPS: TLS 1.2+ only, verified by the test CA, a renewed
certificate served without a restart, and worker-to-worker forwarding verified with
HOOKLOG_TLS_CA_FILE. Certificates are made in the test (tests/conftest.py `make_pair`)."""

from __future__ import annotations

import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from floor.kafka.partitioning import partition_for
from tests.conftest import Pair, client_context, install, served_sha256
from tests.kafka_fixtures import API_TOKEN, System

if shutil.which("openssl") is None:  # pragma: no cover - Debian and the image have it
    pytest.skip("the openssl CLI makes the test certificates; install openssl", allow_module_level=True)

pytestmark = pytest.mark.kafka


def live_files(pair: Pair, tmp_path: Path) -> Pair:
    live = Pair(tmp_path / "live-cert.pem", tmp_path / "live-key.pem")
    install(pair, live)
    return live


def get(url: str, trust: Pair, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, context=client_context(trust), timeout=15) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as answer:
        return answer.code, orjson.loads(answer.read())


def wait_for(check: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s")


def test_the_worker_serves_https_only_tls_1_2_and_a_renewed_certificate_without_a_restart(
        own_topics: None, run_system: Callable[..., System], make_pair: Callable[[int], Pair], tmp_path: Path) -> None:
    first, second = make_pair(61), make_pair(62)
    live = live_files(first, tmp_path)
    system = run_system("worker", client_tls=client_context(first), tls_cert_file=live.cert, tls_key_file=live.key,
                        tls_reload_s=0.2)
    port = system.settings.worker_port
    assert system.worker_url.startswith("https://")
    assert get(f"https://127.0.0.1:{port}/healthz", first)[0] == 200  # verified against the test certificate
    with pytest.raises(ssl.SSLError):
        served_sha256(port, client_context(tls11=True))  # tests/floor/test_tls.py: this client can speak 1.1
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:  # plain HTTP to the TLS port
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = raw.recv(4096)
    assert not reply.startswith(b"HTTP/")

    install(second, live)  # renewed on disk: noticed by the file check, no signal, no restart
    wait_for(lambda: served_sha256(port) == second.sha256, 30, "the renewed certificate")
    assert get(f"https://127.0.0.1:{port}/healthz", second)[0] == 200
    assert system.procs["worker"].poll() is None
    assert "serving plain HTTP" not in system.log_text("worker")


def test_workers_forward_to_each_other_over_https_verified_with_the_ca_file(
        own_topics: None, run_system: Callable[..., System], make_pair: Callable[[int], Pair], tmp_path: Path) -> None:
    pair = make_pair(71)
    live = live_files(pair, tmp_path)
    system = run_system(workers=2, client_tls=client_context(pair), tls_cert_file=live.cert, tls_key_file=live.key,
                        tls_ca_file=live.cert)  # without it: 503 owner_unreachable (not a known CA)
    urls = [system.url_of("w0"), system.url_of("w1")]

    def one_assignment() -> dict | None:
        views = [get(f"{url}/readyz", pair) for url in urls]
        owners = [body.get("owners") for _, body in views]
        return owners[0] if all(s == 200 for s, _ in views) and owners[0] == owners[1] else None

    owners = wait_for(one_assignment, 120, "both workers ready with one assignment")
    assert set(owners.values()) == set(urls), owners  # advertised as https, one partition each
    partitions = system.settings.partitions
    keys = {partition_for(f"ord-{i}", partitions): f"ord-{i}" for i in range(50)}
    assert set(keys) == set(range(partitions))
    for partition, key in keys.items():
        for url in urls:  # one of the two forwards to the owner, over https, verified
            status, body = get(f"{url}/orders/{key}", pair, API_TOKEN)
            assert (status, body["error"]) == (404, "not_found"), (url, owners[str(partition)], body)
