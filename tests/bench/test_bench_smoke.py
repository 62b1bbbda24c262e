"""The benchmarks run end to end at tiny sizes and return well-formed results (never timings).

Each runs against the real broker on its own topic prefix, exactly as `python -m bench` does,
so the bench code cannot rot; the figures themselves are not judged here.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import UTC, datetime

import orjson
import pytest

from bench.fair import median
from bench.fold import quix_available, run_fold
from bench.ingest import run_ingest
from bench.latency import run_latency
from bench.machine import cpu_model
from bench.memory import run_memory
from bench.replay import run_replay
from bench.replication import run_replication
from hooklog.dev.localcluster import ClusterSpec
from bench.report import BenchResult, markdown, rows
from bench.restore import run_restore
from tests.kafka_fixtures import REPO

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
    assert result.machine["cpu"] == cpu_model() != "" and result.machine["cpu"] in table


def check_rounds(result: BenchResult, rounds: int, arms: list[str]) -> None:
    """Interleaved rounds: every arm once per round, each figure the median of its rounds, each
    measured baseline's ratio the median of the per-round ratios."""
    runs = result.detail["rounds"]
    assert sorted(runs) == sorted(arms)
    for name in arms:
        assert [r["round"] for r in runs[name]] == list(range(rounds)), name
    for figure in result.figures:
        assert len(figure.rounds) == rounds and figure.value == median(figure.rounds)
        for baseline in figure.baselines:
            if baseline.value is None:
                continue
            assert len(baseline.rounds) == len(baseline.ratios) == rounds, baseline
            assert baseline.ratios == [round(f / b, 4) for f, b in zip(figure.rounds, baseline.rounds)]
            assert baseline.paired_ratio == round(median([f / b for f, b in zip(figure.rounds, baseline.rounds)]), 4)
            assert figure.ratio(baseline) == baseline.paired_ratio


def check_broker_cpu(cores: dict[str, float]) -> None:
    """The broker's CPU is counted however the shared broker was started (found via /proc)."""
    assert "broker" in cores and cores["broker"] >= 0, cores


def test_ingest(kafka_bootstrap: str) -> None:
    result = run_ingest(duration_s=1, concurrency=8, bodies=200, rounds=2, loadgen="aiohttp", profile=False)
    check(result, "ingest", 2)
    check_rounds(result, 2, ["ingest", "nullserver", "raw_producer"])
    assert [b.value is not None for b in result.figures[0].baselines] == [True, True]
    assert result.detail["broker"]["pid"] is not None, result.detail["broker"]
    for runs in result.detail["rounds"].values():
        for run in runs:
            check_broker_cpu(run["cores"])
            assert run["cpu_us_per_req"] > 0 and run["broker_cpu_us_per_req"] >= 0, run


def test_fold(kafka_bootstrap: str) -> None:
    quix = quix_available()
    result = run_fold(orders=40, profile=False, quix=quix, rounds=2)
    check(result, "fold", 1)
    check_rounds(result, 2, ["worker", "pure", "process_record", *(["quix"] if quix else [])])
    # the worker's run ended on its commits; it published each order's state at least once and
    # at most once per event (one projection record per key per batch)
    assert all(result.params["orders"] <= run["outputs"] <= result.params["events"]
               for run in result.detail["rounds"]["worker"])
    check_broker_cpu(result.detail["worker"]["cores"])


def test_replay(kafka_bootstrap: str) -> None:
    result = run_replay(orders=200, profile=False, rounds=2)
    check(result, "replay", 1)
    check_rounds(result, 2, ["replay", "raw", "one_process"])
    for runs in result.detail["rounds"].values():
        assert all(run["events"] == result.params["events"] for run in runs)
        check_broker_cpu(runs[0]["cores"])


@pytest.mark.cluster
def test_replication(kafka_bootstrap: str, cluster_up: ClusterSpec) -> None:
    """On the session's three-node cluster (the bench starts its own when given none)."""
    result = run_replication(rounds=1, duration_s=1, concurrency=8, orders=60, bodies=200, loadgen="aiohttp",
                             spec=cluster_up, idle_s=0.5)
    check(result, "replication", 2)
    check_rounds(result, 1, ["ingest, one broker", "ingest, three nodes", "worker, one broker", "worker, three nodes"])
    for name, runs in result.detail["rounds"].items():
        nodes = {k for k in runs[0]["cores"] if k.startswith("node")}
        assert nodes == ({"node1", "node2", "node3"} if "three" in name else set()), (name, runs[0]["cores"])
        assert runs[0]["broker_cpu_us"] > 0, (name, runs[0])


def test_latency(kafka_bootstrap: str) -> None:
    result = run_latency(rates=(50.0,), duration_s=1, sample_every=2, concurrency=4)
    check(result, "latency", 2)


def test_memory(kafka_bootstrap: str) -> None:
    result = run_memory(orders=300, settle_s=0.2)
    check(result, "memory", 1)
    assert result.detail["curve_s_orders_rss_mib"][-1][1] >= 300


def test_restore(kafka_bootstrap: str) -> None:
    # just over the bulk restore's minimum (MIN_RECORDS), one round, no disk-kept arm: a short test
    result = run_restore(keys=2100, rounds=1, kept=False)
    check(result, "restore", 2)
    check_rounds(result, 1, ["restore", "raw"])
    restore, raw = result.detail["rounds"]["restore"][0], result.detail["rounds"]["raw"][0]
    assert raw["events"] == result.params["records"] >= 2100
    assert restore["bulk"]["complete"] is True and restore["bulk"]["records"] == result.params["records"], restore
    assert 0 < restore["timeline_s"]["bulk_start"] <= restore["timeline_s"]["bulk_end"] <= restore["timeline_s"]["ready"]


def test_worker_stages(kafka_bootstrap: str) -> None:
    # In a child process: the stages configure the worker's logging (its info lines are a stage),
    # and structlog's cached loggers would keep that setup for the tests after this one.
    script = "import orjson, sys; from bench.worker_stages import run; sys.stdout.buffer.write(orjson.dumps(run(events=40, rounds=2, reps=1)))"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result = orjson.loads(done.stdout.splitlines()[-1] if done.stdout.strip() else b"{}")
    assert list(result) == ["catch-up", "live"]
    catch_up, live = result["catch-up"], result["live"]
    assert catch_up["events"] == live["events"] == 40 and live["orders"] == 40 > catch_up["orders"]
    for batch in result.values():
        stages = batch["stages"]
        assert stages["fold (projection.fold)"]["calls"] == 40
        assert all(math.isfinite(s["us_per_event"]) and s["us_per_event"] >= 0
                   for name, s in stages.items() if not name.startswith("kafka|"))
        for mode in ("faust, one per event", "faust, one per key", "direct, one per key"):
            assert stages[f"kafka|{mode}"]["hand-over"] > 0 and stages[f"kafka|{mode}"]["acks wall"] > 0
        assert stages["kafka|direct, one per key"]["records"] == stages["kafka|faust, one per key"]["records"]
        assert all(len(runs) == 2 for runs in batch["rounds"].values())
    # one projection record per key: a catch-up batch sends fewer records, a live one the same
    assert catch_up["stages"]["kafka|faust, one per key"]["records"] < catch_up["stages"]["kafka|faust, one per event"]["records"]
    assert live["stages"]["kafka|faust, one per key"]["records"] == live["stages"]["kafka|faust, one per event"]["records"]
