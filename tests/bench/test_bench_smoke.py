"""The benchmarks run end to end at tiny sizes and return well-formed results (never timings).

Each runs against the real broker on its own topic prefix, exactly as `python -m bench` does,
so the bench code cannot rot; the figures themselves are not judged here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from bench.fold import quix_available, run_fold
from bench.ingest import run_ingest
from bench.latency import run_latency
from bench.memory import run_memory
from bench.replay import run_replay
from bench.report import BenchResult, markdown, rows

pytestmark = pytest.mark.kafka


def check(result: BenchResult, name: str, figures: int) -> None:
    assert result.name == name
    assert len(result.figures) == figures
    for figure in result.figures:
        assert figure.bench == name and figure.name and figure.unit
        assert math.isfinite(figure.value) and figure.value > 0, figure
        assert figure.baselines, figure
        for baseline in figure.baselines:
            assert baseline.value is None or baseline.value > 0, baseline
    table = markdown([result], datetime.now(UTC))
    assert all(f.name.replace("|", "\\|") in table for f in result.figures)
    assert len(rows([result])) == sum(len(f.baselines) for f in result.figures)


def test_ingest(kafka_bootstrap: str) -> None:
    result = run_ingest(duration_s=1, concurrency=8, bodies=200, loadgen="aiohttp", profile=False)
    check(result, "ingest", 1)
    assert [b.value is not None for b in result.figures[0].baselines] == [True, True]


def test_fold(kafka_bootstrap: str) -> None:
    result = run_fold(orders=40, profile=False, quix=quix_available())
    check(result, "fold", 1)
    assert result.params["events"] == result.detail["worker"]["outputs"]


def test_replay(kafka_bootstrap: str) -> None:
    result = run_replay(orders=200, profile=False)
    check(result, "replay", 1)
    assert result.detail["replay"]["events"] == result.detail["raw"]["events"] == result.params["events"]


def test_latency(kafka_bootstrap: str) -> None:
    result = run_latency(rates=(50.0,), duration_s=1, sample_every=2, concurrency=4)
    check(result, "latency", 2)


def test_memory(kafka_bootstrap: str) -> None:
    result = run_memory(orders=300, settle_s=0.2)
    check(result, "memory", 1)
    assert result.detail["curve_s_orders_rss_mib"][-1][1] >= 300
