"""The worker's per-batch metrics and log lines, on real folds (no broker needed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
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
