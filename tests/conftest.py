"""Shared factories. Broker fixtures live in tests/kafka_fixtures.py, hosts of their own (network
namespaces) in tests/hosts_fixtures.py (both loaded as plugins)."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from hooklog.dev.simulate import LIFECYCLES, lifecycle, scramble
from schemas.alerts import Alert
from schemas.decoding import decode_fact
from schemas.envelope import Envelope, encode_envelope, new_envelope
from schemas.history import Fact
from tests.kuenta_factories import kuenta_envelope

pytest_plugins = ["tests.kafka_fixtures", "tests.hosts_fixtures", "tests.cluster_fixtures"]

T0 = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
SEED_ENV = "HOOKLOG_TEST_SEED"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--seed", type=int, default=None,
                     help=f"seed of the randomised tests (the `test_seed` fixture; also ${SEED_ENV}); default: random")


@pytest.fixture
def test_seed(request: pytest.FixtureRequest) -> int:
    """A seed for a test's random choices: `--seed`, else $HOOKLOG_TEST_SEED, else a fresh one.
    Printed when the test starts and added to its failure report, so any run can be replayed."""
    given = request.config.getoption("--seed")
    seed = given if given is not None else int(os.environ.get(SEED_ENV) or time.time_ns() % 1_000_000)
    request.node.user_properties.append(("seed", seed))
    line = f"{request.node.nodeid}: seed {seed} (replay with {SEED_ENV}={seed} or --seed {seed})"
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:  # on the terminal at once, whatever the output capture
        terminal.write_line(line)
    print(line, file=sys.stderr)
    return seed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = (yield).get_result()  # type: ignore[attr-defined]
    if report.failed:
        for name, value in item.user_properties:
            if name == "seed":
                report.sections.append(("seed", f"seed {value}: replay with {SEED_ENV}={value} or --seed {value}"))


def at(seconds: float) -> str:
    """A Koywe-style timeStamp `seconds` after T0 (millisecond precision, Z suffix)."""
    moment = T0 + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def koywe_body(event_name: str, order_id: str | None, seconds: float | None, **extra: Any) -> bytes:
    """A Koywe body; `order_id` None leaves `orderId` out (per-user events)."""
    payload: dict[str, Any] = {"eventName": event_name}
    if order_id is not None:
        payload["orderId"] = order_id
    if seconds is not None:
        payload["timeStamp"] = at(seconds)
    payload.update(extra)
    return orjson.dumps(payload)


def koywe_user_envelope(event_name: str, seconds: float = 0, user: str = "ana@example.com", **extra: Any) -> Envelope:
    """An accepted per-user Koywe delivery (KYC, deposits) for `user` at T0+seconds; keyed by the
    lower-cased address, as ingest keys it."""
    return new_envelope(source="koywe", key=user.lower(), event_name=event_name,
                        body=koywe_body(event_name, None, seconds, email=user, **extra), received_at=T0)


def raw_log(seed: int = 0, orders: int = 6) -> list[tuple[bytes, bytes]]:
    """(key, value) records of a raw topic as ingest writes them: events of every projection
    (Koywe orders with their alerts, Koywe users, Kuenta, a configured source), late, twice and
    out of order, plus records no fold takes (not an envelope, an unknown event, a record key
    that is not the body's aggregate id)."""
    rng = random.Random(seed)
    kinds = list(LIFECYCLES)
    envelopes = [
        new_envelope(source="koywe", key=d.order_id, event_name=d.event_name, body=d.body, received_at=T0)
        for i in range(orders)
        for d in scramble(lifecycle(kinds[i % len(kinds)], "s", start=T0 + timedelta(minutes=i), order_id=f"ord-{i}"),
                          rng, duplicates=0.3)
    ]
    envelopes += [koywe_user_envelope("verification_started", 0), koywe_user_envelope("verification_completed", 1, status="reviewNeeded"),
                  koywe_user_envelope("NEW_DEPOSIT_REGISTERED", 2, amount=5, user="Bo@Example.com")]
    envelopes += [kuenta_envelope("payment.created", "pay_1", 0, amount=10), kuenta_envelope("payment.failed", "pay_1", 1),
                  kuenta_envelope("credit.application.created", "app_1", 0, amount=5)]
    envelopes += [new_envelope(source="acme", key="acme:7", event_name=name, body=b'{"data":{"id":7}}', received_at=T0,
                               occurred_at=T0 + timedelta(seconds=n)) for n, name in enumerate(("a.created", "a.done"))]
    envelopes += [new_envelope(source="koywe", key="ord-x", event_name="payment_teleported", received_at=T0,
                               body=koywe_body("payment_teleported", "ord-x", 0)),
                  new_envelope(source="koywe", key="ord-other", event_name="payment_created", received_at=T0,
                               body=koywe_body("payment_created", "ord-0", 0))]
    records = [(e.key.encode(), encode_envelope(e)) for e in envelopes] + [(b"junk", b"not an envelope"), (b"", b"")]
    rng.shuffle(records)
    return records


def fold_facts(fold: Callable[[Any, Fact], tuple[Any, tuple[Alert, ...]]], facts: Iterable[Fact]) -> tuple[Any, list[Alert]]:
    """Fold `facts` in order from no state: the last state and every alert raised on the way."""
    state, alerts = None, []
    for fact in facts:
        state, new = fold(state, fact)
        alerts.extend(new)
    assert state is not None
    return state, alerts


@pytest.fixture
def koywe_envelope() -> Callable[..., Envelope]:
    """Factory: an accepted Koywe delivery of `event_name` for `order_id` at T0+seconds."""

    def make(event_name: str, order_id: str = "ord-1", seconds: float | None = 0, **extra: Any) -> Envelope:
        return new_envelope(
            source="koywe", key=order_id, event_name=event_name,
            body=koywe_body(event_name, order_id, seconds, **extra),
            received_at=T0 + timedelta(hours=1),
        )

    return make


@pytest.fixture
def koywe_fact(koywe_envelope: Callable[..., Envelope]) -> Callable[..., Fact]:
    """Factory: the decoded fact of `koywe_envelope(...)`."""

    def make(*args: Any, **kwargs: Any) -> Fact:
        return decode_fact(koywe_envelope(*args, **kwargs))

    return make


class ManualClock:
    """Monotonic seconds that move only when told: rate limits and deadlines without waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def manual_clock() -> ManualClock:
    """A fresh ManualClock (pass it where a `clock`/`monotonic` callable is taken)."""
    return ManualClock()


# --------------------------------------------------------------------------- TLS: test certificates


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(self.cert.read_text())).hexdigest()


@pytest.fixture
def make_pair(tmp_path: Path) -> Callable[[int], Pair]:
    """Factory: a fresh self-signed P-256 certificate for 127.0.0.1 with serial `serial`."""

    def make(serial: int) -> Pair:
        pair = Pair(tmp_path / f"cert-{serial}.pem", tmp_path / f"key-{serial}.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(pair.key), "-out", str(pair.cert), "-days", "2", "-subj", "/CN=hooklog-test",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-set_serial", str(serial)],
                       check=True, capture_output=True, timeout=60)
        return pair

    return make


def install(pair: Pair, live: Pair) -> None:
    """Renew `live` with `pair`'s files the way certbot's deploy does: whole files, replaced."""
    for source, target in ((pair.key, live.key), (pair.cert, live.cert)):
        tmp = target.with_suffix(".new")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)


def client_context(trust: Pair | None = None, *, tls11: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if trust is None:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    else:
        context.load_verify_locations(trust.cert)
    if tls11:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 only speaks TLS 1.1 at level 0
    return context


def served_sha256(port: int, context: ssl.SSLContext | None = None) -> str:
    """A new connection's certificate (SHA-256 of its DER)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with (context or client_context()).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def assert_node_regenerates(script: Path, committed: Path, tmp_path: Path) -> None:
    """A committed vector file is what its Node script writes today (skipped without `node`)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH; the committed vectors are used as they are")
    out = tmp_path / committed.name
    subprocess.run([node, str(script), str(out)], check=True, timeout=60)
    assert out.read_bytes() == committed.read_bytes()
