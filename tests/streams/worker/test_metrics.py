"""The worker's per-batch metrics and log lines, on real folds (no broker needed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import faust
import pytest
from faust.types import TP
from prometheus_client import generate_latest

from projections.registry import PROJECTIONS
from schemas.envelope import Envelope, encode_envelope, utcnow
from streams.worker.metrics import Folded, WorkerMetrics
from streams.worker.processing import process_record

pytestmark = pytest.mark.unit


def fold(tables: dict, raw: bytes | None, offset: int) -> Folded:
    return Folded(process_record(raw or b"", tables, utcnow, 0, offset), 0, offset)


def test_folded_dead_and_alerting_records_are_counted(koywe_envelope: Callable[..., Envelope]) -> None:
    metrics, tables = WorkerMetrics(), {p.name: {} for p in PROJECTIONS}
    modified = {"originalOrder": {"orderId": "ord-1", "amountIn": 1}, "orderAdjustedByBankIncome": {"orderId": "ord-1", "amountIn": 2}}
    batch = [fold(tables, encode_envelope(envelope), offset) for offset, envelope in enumerate([
        koywe_envelope("payment_created"), koywe_envelope("payment_created"),
        koywe_envelope("payment_received_modified_order_amount", seconds=1, **modified),
        koywe_envelope("payment_teleported", seconds=2),
    ])]
    metrics.observe_batch(batch, time.perf_counter())
    metrics.observe_batch([fold(tables, b"not an envelope", 9), fold(tables, None, 10)], time.perf_counter())
    text = generate_latest(metrics.registry).decode()
    assert 'hooklog_worker_events_folded_total{event="payment_created",source="koywe"} 2.0' in text
    assert 'hooklog_worker_alerts_total{type="order_amount_modified"} 1.0' in text
    assert 'hooklog_worker_dead_letters_total{source="koywe"} 1.0' in text
    assert 'hooklog_worker_dead_letters_total{source="unknown"} 2.0' in text
    assert "hooklog_worker_batch_seconds_count 2.0" in text
    assert "hooklog_worker_batch_records_sum 6.0" in text


class _Assigned:
    """A consumer as Faust's would look after an upgrade that renamed its offset maps."""

    def assignment(self) -> set[TP]:
        return {TP("raw", 0)}

    def highwater(self, tp: TP) -> int:
        return 10


class _MovedOffsets:
    _consumer = _Assigned()


@pytest.mark.parametrize("app", [_MovedOffsets(), object()], ids=["offsets-moved", "consumer-moved"])
def test_metrics_still_render_when_the_lag_readers_internals_moved(app: object, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = WorkerMetrics()
    metrics.watch_lag(app, "raw")
    for _ in range(2):
        text = metrics.exposition()[0].decode()
        assert 'hooklog_worker_seam_broken{item="consumer_lag"} 1.0' in text
        assert "hooklog_worker_consumer_lag{" not in text  # unknown, not a made-up number
        assert 'hooklog_worker_events_folded' in text
    assert capsys.readouterr().out.count("seam_broken") == 1  # logged once, not per scrape


def test_a_worker_not_started_yet_shows_no_lag_and_an_intact_seam() -> None:
    app = faust.App("l-worker", broker="kafka://127.0.0.1:9", store="memory://", autodiscover=False)
    metrics = WorkerMetrics()
    metrics.watch_lag(app, "raw")
    assert 'hooklog_worker_seam_broken{item="consumer_lag"} 0.0' in metrics.exposition()[0].decode()


class _ConsumerWithoutInternals:
    """A consumer of some other Faust version: `assignment()` works, the offsets it kept are gone."""

    def assignment(self) -> set:
        from faust.types import TP

        return {TP("raw", 0)}

    def highwater(self, tp: object) -> int:
        return 10


def test_routing_metrics_and_no_500_when_faust_changes() -> None:
    metrics = WorkerMetrics()
    metrics.watch_owned(lambda: frozenset({0, 3}))
    metrics.forwarded.labels("answered").inc()
    metrics.unavailable.labels("rebalancing").inc(2)
    text = generate_latest(metrics.registry).decode()
    assert "hooklog_worker_owned_partitions 2.0" in text
    assert 'hooklog_worker_forwarded_requests_total{outcome="answered"} 1.0' in text
    assert 'hooklog_worker_unavailable_answers_total{reason="rebalancing"} 2.0' in text

    broken = WorkerMetrics()
    broken.watch_owned(lambda: (_ for _ in ()).throw(AttributeError("assignor")))
    broken.watch_lag(type("App", (), {"_consumer": _ConsumerWithoutInternals()})(), "raw")
    body, _ = broken.exposition()  # what /metrics serves: no exception, the families without samples
    assert b"# TYPE hooklog_worker_owned_partitions gauge" in body and b"hooklog_worker_consumer_lag" in body
