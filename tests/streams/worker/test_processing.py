"""`process_record`, the worker's per-record step, over plain dict tables (no broker needed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from projections.registry import PROJECTIONS
from schemas.deadletter import decode_dead_letter
from schemas.envelope import Envelope, encode_envelope
from streams.worker.processing import process_record

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def tables() -> dict[str, dict[str, bytes]]:
    return {p.name: {} for p in PROJECTIONS}


def test_a_record_is_folded_saved_and_published(koywe_envelope: Callable[..., Envelope]) -> None:
    store = tables()
    outcome = process_record(encode_envelope(koywe_envelope("payment_created", "o-1")), store, lambda: NOW)
    assert not outcome.dead and outcome.event_name == "payment_created"
    ((topic, key, value),) = outcome.outputs
    assert (topic, key) == ("orders", b"o-1") and value == store["orders"]["o-1"]
    assert orjson.loads(value)["state"] == "WAITING"


def test_a_redelivery_republishes_the_same_state_and_alert_ids(koywe_envelope: Callable[..., Envelope]) -> None:
    store = tables()
    extra = {"originalOrder": {"amountIn": 1}, "orderAdjustedByBankIncome": {"amountIn": 2}}
    raw = encode_envelope(koywe_envelope("payment_received_modified_order_amount", "o-2", **extra))
    first = process_record(raw, store, lambda: NOW)
    saved = dict(store["orders"])
    again = process_record(raw, store, lambda: NOW)
    assert again.outputs == first.outputs and store["orders"] == saved
    assert [o.topic for o in first.outputs] == ["orders", "alerts"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"", "empty record"), (b"no newline", "no metadata line"), (b'{"v":9}\n{}', "unsupported envelope version")],
)
def test_what_is_not_an_envelope_is_dead_lettered_with_its_bytes(raw: bytes, reason: str) -> None:
    outcome = process_record(raw, tables(), lambda: NOW, partition=1, offset=7)
    ((topic, key, value),) = outcome.outputs
    meta, original = decode_dead_letter(value)
    assert topic == "dlq" and key == b"1-7" and reason in meta.reason and original == raw
    assert (meta.rawPartition, meta.rawOffset) == (1, 7)


def test_an_unknown_event_is_dead_lettered_and_touches_no_table(koywe_envelope: Callable[..., Envelope]) -> None:
    store = tables()
    envelope = koywe_envelope("payment_teleported", "o-3")
    outcome = process_record(encode_envelope(envelope), store, lambda: NOW)
    ((topic, key, value),) = outcome.outputs
    meta, original = decode_dead_letter(value)
    assert topic == "dlq" and key == envelope.id.encode() and outcome.dead
    assert "payment_teleported" in meta.reason and meta.aggregateId == "o-3" and original == encode_envelope(envelope)
    assert all(not table for table in store.values())
