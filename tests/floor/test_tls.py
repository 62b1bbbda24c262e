"""HTTPS: TLS 1.2+ only, and a renewed certificate served without a restart.

Certificates are made in the test with the `openssl` CLI. The unit tests shake hands in memory
(two SSLObjects joined by BIOs); the kafka tests run a real `hooklog ingest` and talk to it over
sockets. Every TLS 1.1 refusal is checked against a control server that accepts TLS 1.1 from the
same client, so the refusal is the server's doing, not the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from floor.settings import Settings
from floor.tls import CertificateReloader, is_loopback, plain_http_warning, server_tls
from ingest.senders.signatures import signed_koywe_body
from schemas.envelope import decode_envelope
from schemas.errors import ConfigError
from tests.conftest import Pair, client_context, install, served_sha256
from tests.kafka_fixtures import REPO, SECRET, listening_inodes, read_topic, settings_env

if shutil.which("openssl") is None:  # pragma: no cover - Debian and the image have it
    pytest.skip("the openssl CLI makes the test certificates; install openssl", allow_module_level=True)


def permissive_context(pair: Pair) -> ssl.SSLContext:
    """The control server's: accepts TLS 1.0 and 1.1, which hooklog's must not."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(pair.cert, pair.key)
    return context


def memory_handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> str:
    """Shake hands in memory; the SHA-256 of the certificate the client was shown."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_end = client.wrap_bio(c_in, c_out, server_hostname="127.0.0.1")
    server_end = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, end in (("client", client_end), ("server", server_end)):
            if not done[name]:
                with contextlib.suppress(ssl.SSLWantReadError):
                    end.do_handshake()
                    done[name] = True
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            der = client_end.getpeercert(binary_form=True)
            assert der is not None
            return hashlib.sha256(der).hexdigest()
    raise AssertionError("the in-memory handshake did not finish")


# --------------------------------------------------------------------------- unit: the reloader


@pytest.mark.unit
def test_the_context_is_tls_1_2_or_better_and_refuses_tls_1_1(make_pair: Callable[[int], Pair]) -> None:
    pair = make_pair(1)
    tls = server_tls(Settings(tls_cert_file=pair.cert, tls_key_file=pair.key))
    assert tls is not None and tls.context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert memory_handshake(tls.context, client_context(pair)) == pair.sha256 == tls.fingerprint
    assert memory_handshake(permissive_context(pair), client_context(tls11=True))  # the client can speak 1.1 …
    with pytest.raises(ssl.SSLError):
        memory_handshake(tls.context, client_context(tls11=True))  # … hooklog will not


@pytest.mark.unit
def test_a_renewed_certificate_is_served_to_new_connections(make_pair: Callable[[int], Pair], tmp_path: Path) -> None:
    first, second, third = make_pair(1), make_pair(2), make_pair(3)
    live = Pair(tmp_path / "live-cert.pem", tmp_path / "live-key.pem")
    install(first, live)
    tls = CertificateReloader(live.cert, live.key)
    assert tls.reload_if_changed() is False  # nothing changed: nothing done
    install(second, live)
    assert tls.reload_if_changed() is True
    assert memory_handshake(tls.context, client_context(second)) == second.sha256 == tls.fingerprint
    live.cert.write_bytes(third.cert.read_bytes())  # in place, same inode, and half done: the key is the old one
    assert tls.reload_if_changed() is False
    assert memory_handshake(tls.context, client_context(second)) == second.sha256  # the last good one stays
    live.key.write_bytes(third.key.read_bytes())
    assert tls.reload() is True
    assert memory_handshake(tls.context, client_context(third)) == third.sha256


@pytest.mark.unit
def test_plain_http_to_the_tls_context_is_no_handshake(make_pair: Callable[[int], Pair]) -> None:
    pair = make_pair(1)
    incoming = ssl.MemoryBIO()
    server_end = CertificateReloader(pair.cert, pair.key).context.wrap_bio(incoming, ssl.MemoryBIO(), server_side=True)
    incoming.write(b"POST /webhooks/koywe HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    with pytest.raises(ssl.SSLError):
        server_end.do_handshake()


@pytest.mark.unit
def test_tls_settings_come_in_loadable_pairs(make_pair: Callable[[int], Pair], tmp_path: Path) -> None:
    pair, other = make_pair(1), make_pair(2)
    assert server_tls(Settings()) is None
    with pytest.raises(ValueError, match="both HOOKLOG_TLS_CERT_FILE and HOOKLOG_TLS_KEY_FILE"):
        Settings(tls_cert_file=pair.cert)
    for cert, key in ((pair.cert, other.key), (tmp_path / "missing.pem", pair.key), (pair.key, pair.key)):
        with pytest.raises(ConfigError, match="cannot be loaded"):
            server_tls(Settings(tls_cert_file=cert, tls_key_file=key))


@pytest.mark.unit
@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("", False),
                                                ("::", False), ("10.0.0.5", False), ("ingest.internal", False)])
def test_plain_http_beyond_loopback_is_warned_about(host: str, loopback: bool, make_pair: Callable[[int], Pair]) -> None:
    assert is_loopback(host) is loopback
    warning = plain_http_warning(host, None)
    assert (warning is None) is loopback
    if warning:
        assert "HOOKLOG_TLS_CERT_FILE" in warning
    pair = make_pair(1)
    assert plain_http_warning(host, CertificateReloader(pair.cert, pair.key)) is None


# --------------------------------------------------------------------------- kafka: a real ingest


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"ingest exited ({proc.returncode}) while waiting for {what}"
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout_s}s")


@dataclass(frozen=True)
class Running:
    proc: subprocess.Popen[bytes]
    settings: Settings
    live: Pair  # the files ingest was configured with; `install` renews them

    @property
    def port(self) -> int:
        return self.settings.ingest_port


@pytest.fixture
def tls_ingest(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Factory: `hooklog ingest` serving `pair` from files of its own, answering over HTTPS."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(pair: Pair, *, reload_s: float, processes: int = 1) -> Running:
        live = Pair(tmp_path / "live-cert.pem", tmp_path / "live-key.pem")
        install(pair, live)
        settings = make_settings(tls_cert_file=live.cert, tls_key_file=live.key, tls_reload_s=reload_s)
        log = open(tmp_path / "ingest.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen([sys.executable, "-m", "hooklog.cli", "ingest", "--processes", str(processes)],
                                env=settings_env(settings), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        health = f"https://127.0.0.1:{settings.ingest_port}/healthz"
        wait_until(lambda: urllib.request.urlopen(health, context=client_context(pair), timeout=5).status == 200,
                   120, "ingest answering over HTTPS", proc)
        return Running(proc, settings, live)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def post_https(port: int, trust: Pair, body: bytes) -> dict:
    request = urllib.request.Request(f"https://127.0.0.1:{port}/webhooks/koywe", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=client_context(trust), timeout=10) as response:
        assert response.status == 200
        return orjson.loads(response.read())


@pytest.mark.kafka
def test_https_ingest_stores_webhooks_refuses_tls_1_1_and_plain_http_and_reloads_on_sighup(
    make_pair: Callable[[int], Pair], tls_ingest: Callable[..., Running], tmp_path: Path,
) -> None:
    first, second, third = make_pair(11), make_pair(12), make_pair(13)
    ingest = tls_ingest(first, reload_s=0)  # SIGHUP only
    settings, port = ingest.settings, ingest.port

    sent = signed_koywe_body(orjson.dumps({"eventName": "payment_created", "orderId": "tls-1"}), SECRET)
    answer = post_https(port, first, sent)  # verified against the test certificate
    records = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic("raw")))
    assert [(e.id, e.body) for e in map(decode_envelope, (r.value for r in records))] == [(answer["id"], sent)]

    with pytest.raises(ssl.SSLError):
        served_sha256(port, client_context(tls11=True))  # test_the_control_server_accepts_tls_1_1: it can
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:  # plain HTTP to the TLS port
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = raw.recv(4096)
    assert not reply.startswith(b"HTTP/")

    install(second, ingest.live)
    assert served_sha256(port) == first.sha256  # no signal, no check: nothing reloads by itself
    ingest.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: served_sha256(port) == second.sha256, 30, "the renewed certificate", ingest.proc)
    assert post_https(port, second, sent)["status"] == "stored"

    ingest.live.key.write_bytes(third.key.read_bytes())  # a botched renewal: the new key, the old certificate
    ingest.proc.send_signal(signal.SIGHUP)
    log = tmp_path / "ingest.log"
    wait_until(lambda: "TLS certificate not reloaded" in log.read_text(), 30, "the reload error in the log", ingest.proc)
    assert served_sha256(port) == second.sha256 and ingest.proc.poll() is None  # the last good one stays


@pytest.mark.kafka
def test_a_certificate_renewed_on_disk_is_served_without_a_signal(
    make_pair: Callable[[int], Pair], tls_ingest: Callable[..., Running],
) -> None:
    first, second = make_pair(41), make_pair(42)
    ingest = tls_ingest(first, reload_s=0.2)
    install(second, ingest.live)
    wait_until(lambda: served_sha256(ingest.port) == second.sha256, 30, "the certificate renewed on disk", ingest.proc)


@pytest.mark.kafka
def test_n_processes_each_reload_on_sighup_to_the_parent(
    make_pair: Callable[[int], Pair], tls_ingest: Callable[..., Running],
) -> None:
    first, second = make_pair(21), make_pair(22)
    ingest = tls_ingest(first, reload_s=0, processes=2)  # SIGHUP only
    wait_until(lambda: len(listening_inodes(ingest.port)) == 2, 60, "both children listening", ingest.proc)
    assert {served_sha256(ingest.port) for _ in range(20)} == {first.sha256}

    install(second, ingest.live)
    ingest.proc.send_signal(signal.SIGHUP)
    # SO_REUSEPORT spreads new connections over both children: 40 in a row all show the new one
    wait_until(lambda: {served_sha256(ingest.port) for _ in range(40)} == {second.sha256}, 30,
               "every child serving the renewed certificate", ingest.proc)
    assert len(listening_inodes(ingest.port)) == 2 and ingest.proc.poll() is None


@pytest.mark.unit
def test_the_control_server_accepts_tls_1_1(make_pair: Callable[[int], Pair]) -> None:
    """The control of the socket-level TLS 1.1 refusal above: the same client gets through here."""
    pair = make_pair(31)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve_one() -> None:
            conn, _ = listener.accept()
            with contextlib.suppress(OSError), permissive_context(pair).wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

        thread = threading.Thread(target=serve_one, daemon=True)
        thread.start()
        assert served_sha256(port, client_context(tls11=True)) == pair.sha256
        thread.join(10)
