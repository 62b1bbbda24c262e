"""Live == replay without a broker: the same raw records fed to the one fold driver as the worker
feeds it (record by record into tables of state JSON, alone or through a `TableBatch` and a
`StateCache`) and as replay feeds it (each partition in batches, into shards that worker
processes start from JSON and ship back as JSON) give the same states, alerts and dead letters."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.registry import PROJECTIONS
from projections.replay import Raw, Rebuilt
from schemas.deadletter import decode_dead_letter
from streams.replay.fold import fold_records
from streams.replay.model import Replayed
from streams.worker.batch import StateCache, TableBatch
from streams.worker.processing import process_record
from tests.conftest import raw_log

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 25, tzinfo=UTC)
PARTITIONS = 3


class Record(NamedTuple):
    partition: int
    offset: int
    value: bytes


class Result(NamedTuple):
    """Non-empty projections' states as JSON, alerts as JSON by id, dead letters as (key, reason)."""

    states: dict[str, dict[str, bytes]]
    alerts: dict[str, bytes]
    dead: set[tuple[str, str]]


def partitioned(log: list[tuple[bytes, bytes]]) -> list[Record]:
    """The log as a topic holds it: a key always lands in the same partition, offsets per partition."""
    ends = [0] * PARTITIONS
    records = []
    for key, value in log:
        partition = zlib.crc32(key) % PARTITIONS
        records.append(Record(partition, ends[partition], value))
        ends[partition] += 1
    return records


def live(records: list[Record], batch: int | None) -> Result:
    """As the worker's fold agent: record by record (`batch` None) or `batch` records per TableBatch."""
    tables: dict[str, dict[str, bytes]] = {p.name: {} for p in PROJECTIONS}
    alerts: dict[str, bytes] = {}
    dead: set[tuple[str, str]] = set()
    cache = StateCache(capacity=4)  # small: evictions re-parse from the table's bytes
    for at in range(0, len(records), batch or len(records) or 1):
        overlay: TableBatch[int] = TableBatch(tables)
        for record in records[at:at + (batch or len(records))]:
            overlay.current = record.offset
            into = overlay.tables if batch else tables
            outcome = process_record(record.value, into, lambda: NOW, record.partition, record.offset,
                                     cache if batch else None)
            for output in outcome.outputs:
                if output.topic == "alerts":
                    alerts[output.key.decode()] = output.value  # compacted: the last value stands
                elif output.topic == "dlq":
                    dead.add((output.key.decode(), decode_dead_letter(output.value)[0].reason))
        overlay.flush(lambda table, key, value, _record: table.__setitem__(key, value))
    return Result({name: table for name, table in tables.items() if table}, alerts, dead)


def replayed(records: list[Record], batch: int) -> Result:
    """As replay: per partition, `batch` records at a time, each batch folded by a "process" that
    starts from what the parent holds as JSON (parsed lazily) and ships its changes back as JSON."""
    ends = {p: sum(1 for r in records if r.partition == p) for p in range(PARTITIONS)}
    parent = Replayed("raw", dict.fromkeys(ends, 0), ends, dict.fromkeys(ends, 0), {p: Rebuilt() for p in ends})
    for p in ends:
        mine = [Raw(r.offset, r.value) for r in records if r.partition == p]
        for at in range(0, len(mine), batch):
            process = Replayed("raw", {p: 0}, {p: ends[p]}, {p: at}, {p: Rebuilt()})
            process.put_changes(parent.shard_changes(p))
            process.dirty, process.alerts_taken = {p: set()}, {p: len(process.shards[p].alerts)}
            fold_records(process, p, mine[at:at + batch])
            parent.put_changes(process.take_changes())
            parent.shards[p].dead_letters.extend(process.shards[p].dead_letters)
            parent.undecodable.extend(process.undecodable)
    dead = {(d.envelope.id, d.reason) for shard in parent.shards.values() for d in shard.dead_letters}
    dead |= {(f"{p}-{offset}", reason) for p, offset, reason in parent.undecodable}
    return Result({name: table for name, table in parent.state_json().items() if table}, parent.alert_json(), dead)


def test_every_feed_of_the_driver_gives_the_same_states_alerts_and_dead_letters() -> None:
    records = partitioned(raw_log(seed=1))
    expected = live(records, batch=None)
    assert set(expected.states) == {"orders", "kyc", "kuenta.payment", "kuenta.credit", "events"}
    assert expected.alerts and len(expected.dead) == 4  # an unknown event, a wrong key, two non-envelopes
    assert live(records, batch=7) == expected
    for batch in (1, 5, len(records)):
        assert replayed(records, batch) == expected


LOG = raw_log(seed=2, orders=3)


@settings(max_examples=25, deadline=None)
@given(st.permutations(LOG), st.lists(st.sampled_from(LOG), max_size=8), st.integers(1, 9))
def test_the_feeds_agree_on_any_arrival_order_with_redeliveries(
    order: list[tuple[bytes, bytes]], again: list[tuple[bytes, bytes]], batch: int
) -> None:
    records = partitioned(order + again)
    expected = live(records, batch=None)
    assert live(records, batch) == expected
    assert replayed(records, batch) == expected
