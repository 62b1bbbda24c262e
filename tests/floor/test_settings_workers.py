"""The many-workers settings: advertised URL, worker id, failover defaults."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pydantic import ValidationError

from floor.settings import Settings

pytestmark = pytest.mark.unit


def test_defaults_detect_a_dead_worker_in_seconds_and_keep_one_standby() -> None:
    settings = Settings()
    assert (settings.session_timeout_s, settings.standby_replicas, settings.worker_id) == (10.0, 1, None)
    assert settings.advertised_url == f"http://127.0.0.1:{settings.worker_port}"


def test_advertised_url_is_the_hostname_when_bound_everywhere_and_an_explicit_url_wins() -> None:
    assert Settings(worker_host="0.0.0.0", worker_port=7000).advertised_url == f"http://{socket.gethostname()}:7000"
    assert Settings(worker_host="fd00::1", worker_port=7000).advertised_url == "http://[fd00::1]:7000"
    assert Settings(worker_url="https://w1.internal:443/").advertised_url == "https://w1.internal:443"
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(worker_url="w1:6066")


def test_advertised_url_is_https_when_the_worker_serves_tls_and_an_explicit_url_still_wins(tmp_path: Path) -> None:
    tls = {"tls_cert_file": tmp_path / "cert.pem", "tls_key_file": tmp_path / "key.pem"}
    assert Settings(worker_host="10.0.0.5", worker_port=7000, **tls).advertised_url == "https://10.0.0.5:7000"
    assert Settings(worker_host="fd00::1", worker_port=7000, **tls).advertised_url == "https://[fd00::1]:7000"
    assert Settings(worker_url="http://lb.internal:80", **tls).advertised_url == "http://lb.internal:80"


def test_worker_id_is_a_legal_group_instance_id_and_session_within_the_brokers_range() -> None:
    assert Settings(worker_id="w0").worker_id == "w0"
    for bad in ("", "w 0", "w/0"):
        with pytest.raises(ValidationError):
            Settings(worker_id=bad)
    with pytest.raises(ValidationError):
        Settings(session_timeout_s=3)  # below the broker's group.min.session.timeout.ms (6 s)
