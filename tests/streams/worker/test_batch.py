"""A batch folds through a write-back overlay (one table write per key) and a state cache that
is used only for the exact bytes it parsed; the result equals folding record by record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from projections.registry import PROJECTIONS
from schemas.envelope import Envelope, encode_envelope
from schemas.orders import OrderState
from streams.worker.batch import StateCache, TableBatch, latest_per_key
from streams.worker.processing import process_record

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 25, tzinfo=UTC)
LIFECYCLE = ["payment_created", "payment_received", "crypto_tx_sent", "crypto_delivered"]


def tables() -> dict[str, dict[str, bytes]]:
    return {p.name: {} for p in PROJECTIONS}


class CountingTable(dict[str, bytes]):
    """A table that counts writes, like Faust's (each one a store put + changelog record)."""

    writes = 0

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def records(koywe_envelope: Callable[..., Envelope]) -> list[bytes]:
    """Two orders' lifecycles interleaved, one event repeated, one late."""
    a = [encode_envelope(koywe_envelope(name, "o-a", seconds=i)) for i, name in enumerate(LIFECYCLE)]
    b = [encode_envelope(koywe_envelope(name, "o-b", seconds=i)) for i, name in enumerate(LIFECYCLE)]
    return [a[0], b[0], a[2], a[1], b[1], a[2], b[3], a[3], b[2]]


def test_a_batch_writes_each_key_once_and_equals_record_by_record(koywe_envelope: Callable[..., Envelope]) -> None:
    raws = records(koywe_envelope)
    one_by_one = tables()
    expected = [process_record(raw, one_by_one, lambda: NOW).outputs for raw in raws]

    base = tables() | {"orders": CountingTable()}
    batch: TableBatch[int] = TableBatch(base)
    cache = StateCache()
    got = []
    for offset, raw in enumerate(raws):
        batch.current = offset
        got.append(process_record(raw, batch.tables, lambda: NOW, states=cache).outputs)
    assert base["orders"].writes == 0  # nothing reaches the table before the flush
    written: list[tuple[str, int | None]] = []
    assert batch.flush(lambda table, key, value, record: (written.append((key, record)), table.__setitem__(key, value))) == 2
    assert got == expected and base == one_by_one
    assert base["orders"].writes == 2 and sorted(written) == [("o-a", 7), ("o-b", 8)]  # under the last writer


def test_the_cache_spares_parsing_but_never_serves_other_bytes(koywe_envelope: Callable[..., Envelope]) -> None:
    parsed: list[bytes] = []

    def parse(raw: bytes) -> OrderState:
        parsed.append(raw)
        return OrderState.model_validate_json(raw)

    store, cache = tables(), StateCache(capacity=1)
    process_record(encode_envelope(koywe_envelope("payment_created", "o-a")), store, lambda: NOW, states=cache)
    saved = store["orders"]["o-a"]
    assert cache.load("orders", "o-a", bytes(saved), parse).state == "WAITING" and parsed == []  # equal bytes: no parse
    restored = process_record(encode_envelope(koywe_envelope("payment_received", "o-a", seconds=1)), tables(),
                              lambda: NOW).outputs[0].value  # another worker's newer state for the same key
    assert cache.load("orders", "o-a", restored, parse).state == "PENDING" and parsed == [restored]
    cache.keep("orders", "o-b", saved, OrderState.model_validate_json(saved))
    assert len(cache) == 1 and cache.load("orders", "o-a", restored, parse) is not None and len(parsed) == 2  # evicted


def test_latest_per_key_keeps_each_projection_keys_last_record_at_its_last_position() -> None:
    records = [("orders", b"a", b"a1", 0), ("alerts", b"x", b"x1", None), ("orders", b"b", b"b1", 1),
               ("orders", b"a", b"a2", 0), ("kyc", b"a", b"k1", 0), ("dlq", b"d", b"d1", None),
               ("alerts", b"x", b"x1", None), ("orders", b"b", b"b2", 1), ("orders", b"a", b"a3", 0)]
    assert latest_per_key(records, {"orders", "kyc"}) == [
        ("alerts", b"x", b"x1", None), ("kyc", b"a", b"k1", 0), ("dlq", b"d", b"d1", None),
        ("alerts", b"x", b"x1", None), ("orders", b"b", b"b2", 1), ("orders", b"a", b"a3", 0)]


def test_latest_per_key_keeps_everything_when_no_key_repeats_or_nothing_collapses() -> None:
    records = [("orders", b"a", b"a1", 0), ("orders", b"b", b"b1", 1), ("alerts", b"x", b"x1", None)]
    assert latest_per_key(records, {"orders"}) == records
    repeated = [*records, ("orders", b"a", b"a2", 0)]
    assert latest_per_key(repeated, set()) == repeated
    assert latest_per_key([], {"orders"}) == []


def test_latest_per_key_sends_what_folding_record_by_record_would_leave_last(
        koywe_envelope: Callable[..., Envelope]) -> None:
    """Over a real batch's outputs: per key the last record is the final state, and the states
    a compacted topic ends with are the same as with one record per event."""
    states, outputs = tables(), []
    for raw in records(koywe_envelope):
        outputs.extend((o.topic, o.key, o.value, 0 if o.topic == "orders" else None)
                       for o in process_record(raw, states, lambda: NOW).outputs)
    kept = latest_per_key(outputs, {"orders"})
    assert [(t, k) for t, k, _, _ in kept if t == "orders"] == [("orders", b"o-a"), ("orders", b"o-b")]
    assert {k: v for t, k, v, _ in kept if t == "orders"} == {k: v for t, k, v, _ in outputs if t == "orders"}
    assert {k.decode(): v for t, k, v, _ in kept if t == "orders"} == states["orders"]
    assert [r for r in kept if r[0] != "orders"] == [r for r in outputs if r[0] != "orders"]
