"""The README's first command: `hooklog up --demo` brings ingest and the worker up, sends the
scrambled, repeated demo lifecycles, and every order ends DELIVERED with its whole history."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from floor.settings import Settings
from tests.kafka_fixtures import REPO, settings_env

pytestmark = pytest.mark.kafka


def test_up_demo_ends_every_order_delivered_and_shuts_down_cleanly(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(koywe_secrets=None, api_tokens=None)  # the demo picks its own
    env = {**settings_env(settings), "COLUMNS": "250"}
    done = subprocess.run([sys.executable, "-m", "hooklog.cli", "up", "--demo", "--exit-after-demo"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if "DELIVERED" in line]
    assert len(rows) == 4 and all("payment_created" in row for row in rows), done.stdout
    assert "query API token for this demo" in done.stdout + done.stderr
