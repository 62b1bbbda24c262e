"""`hooklog worker` and `hooklog up` with a guessable token stop at once, saying what to do; no broker is
needed (nothing connects before the check), so none is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from floor.settings import Settings
from tests.kafka_fixtures import hooklog

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("command", ["worker", "up"])
def test_a_short_api_token_stops_the_start_with_what_to_do(command: str, tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", api_tokens="short-t0ken", data_dir=tmp_path)
    done = hooklog(settings, command, timeout_s=60)
    assert done.returncode != 0
    assert "HOOKLOG_API_TOKENS: it is shorter than 16 characters" in done.stderr + done.stdout
    assert "openssl rand -hex 32" in done.stderr + done.stdout and "short-t0ken" not in done.stderr + done.stdout
