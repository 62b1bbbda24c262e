"""The product never imports bench/: only `hooklog bench` loads it (hooklog/cli/bench.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kafka_fixtures import REPO

pytestmark = pytest.mark.unit

PRODUCT = ("hooklog.cli.main", "streams.worker.app", "streams.compose.process", "streams.api.views",
           "streams.replay.replay", "streams.ops.promote", "ingest.gateway.server")


def _bench_modules_after_importing(*modules: str) -> list[str]:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(' '.join(sorted(m for m in sys.modules if m == 'bench' or m.startswith('bench.'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.split()


def test_importing_the_cli_and_the_worker_loads_no_bench_module() -> None:
    assert _bench_modules_after_importing(*PRODUCT) == []
    assert "bench.cli" in _bench_modules_after_importing("bench.cli")  # the probe sees bench when it is there


def test_hooklog_bench_help_still_lists_the_benchmarks() -> None:
    done = subprocess.run([sys.executable, "-m", "hooklog.cli", "bench", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "hooklog.cli bench [OPTIONS] COMMAND" in done.stdout and all(name in done.stdout for name in ("fold", "replay", "setup-quix"))


def test_without_a_checkout_hooklog_bench_says_where_the_benchmarks_are(tmp_path: Path) -> None:
    """Installed from the wheel (no bench/ beside hooklog/), the command says what to do."""
    code = ("import sys; sys.path = [p for p in sys.path if p not in ('', %r)]\n"  # bench/ not importable
            "from pathlib import Path\nfrom hooklog.cli.bench import bench_app\n"
            "from schemas.errors import ConfigError\n"
            "try:\n    bench_app(Path(%r))\nexcept ConfigError as exc:\n    print(exc)\n") % (str(REPO), str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    assert "bench/ is not part of the installed package" in done.stdout


def test_from_a_checkout_hooklog_bench_finds_the_benchmarks(tmp_path: Path) -> None:
    code = ("import sys; sys.path = [p for p in sys.path if p not in ('', %r)]\n"
            "from hooklog.cli.bench import bench_app\nprint(type(bench_app()).__name__)\n") % str(REPO)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Typer"
