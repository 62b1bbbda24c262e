"""Every RocksDB store of a worker under one budget (streams/kafka/seam/faust_rocksdb.py): the
worker's tables open their databases with the shared cache and write-buffer manager, and a
database's memtables are flushed at the budget instead of Faust's 3 x 64 MiB."""

from __future__ import annotations

import os
from pathlib import Path

import faust
import pytest

from floor.settings import Settings
from streams.kafka import seam
from streams.worker.app import build_app

pytestmark = pytest.mark.unit
MIB = 1024 * 1024


def test_every_table_of_the_worker_shares_one_budget(tmp_path: Path) -> None:
    worker = build_app(Settings(data_dir=tmp_path, topic_prefix="p"))
    options = [table.data.rocksdb_options for table in worker.tables.values()]
    assert all(isinstance(o, seam.BudgetedRocksDBOptions) for o in options)
    assert len({id(o.budget) for o in options}) == 1
    budget = options[0].budget
    assert (budget.cache_bytes, budget.write_buffer_bytes) == (64 * MIB, 64 * MIB)  # the defaults
    assert options[0].write_buffer_size == 16 * MIB and options[0].max_write_buffer_number == 2


def test_databases_use_the_shared_cache_and_flush_at_the_write_buffer_budget(tmp_path: Path) -> None:
    budget = seam.RocksDBBudget(cache_bytes=8 * MIB, write_buffer_bytes=4 * MIB)
    app = faust.App("t-budget", broker="kafka://127.0.0.1:9", store="rocksdb://", datadir=str(tmp_path),
                    autodiscover=False, Table=seam.budgeted_table_class(budget))
    tables = [app.Table(name, default=None, partitions=2, key_type=str, value_type=bytes) for name in ("a", "b")]
    dbs = [table.data.rocksdb_options.open(tmp_path / f"db-{i}") for i, table in enumerate(tables)]
    cache, write_buffers = budget.shared()
    for db in dbs:
        assert db.property_int_value("rocksdb.block-cache-capacity") == 8 * MIB
    value = os.urandom(1000)
    for i in range(16_000):  # ~16 MiB into one database: Faust's default would keep it all in memtables
        dbs[0].put(f"k{i:08d}".encode(), value)
    assert write_buffers.get_usage() > 0, "the database's memtables are not charged to the shared manager"
    assert dbs[0].property_int_value("rocksdb.size-all-mem-tables") < 6 * MIB
    dbs[0].flush()
    assert all(dbs[0].get(f"k{i:08d}".encode()) == value for i in range(0, 16_000, 997))
    assert cache.get_usage() > 0, "reads did not go through the shared block cache"
    for db in dbs:
        db.close()


def test_a_memory_store_is_left_as_faust_builds_it(tmp_path: Path) -> None:
    app = faust.App("t-mem", broker="kafka://127.0.0.1:9", store="memory://", datadir=str(tmp_path),
                    autodiscover=False, Table=seam.budgeted_table_class(seam.RocksDBBudget(MIB, 4 * MIB)))
    table = app.Table("a", default=None, partitions=1, key_type=str, value_type=bytes)
    assert not hasattr(table.data, "rocksdb_options")
