"""faust-streaming's RocksDB stores under one memory budget per worker.

Faust opens one RocksDB per table per partition (actives and standbys: 7 tables x 4 partitions =
28 databases on one worker at the defaults), each with its own 2 GiB block cache and up to three
64 MiB memtables (`faust.stores.rocksdb` defaults). A webhook worker's tables are small states
read by key, so here every store of the worker shares one LRU block cache and one
`WriteBufferManager` that flushes memtables once all of them together reach the budget
(`HOOKLOG_WORKER_ROCKSDB_CACHE_BYTES`, `HOOKLOG_WORKER_ROCKSDB_WRITE_BUFFER_BYTES`,
docs/configuration.md). Faust has no setting for a shared cache: `budgeted_table_class` is the
`Table` class the worker's App uses; it swaps each new store's `rocksdb_options` for a subclass
whose `as_options` plugs in the shared objects (rocksdict driver only; python-rocksdb and
`memory://` stores are left as Faust builds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import faust
from faust.stores.rocksdb import RocksDBOptions

from floor.seam.pins import relies_on

MIB = 1024 * 1024
#: memtables per database: one being written, one being flushed (Faust's default: 3)
MAX_WRITE_BUFFER_NUMBER = 2


@dataclass
class RocksDBBudget:
    """The block cache and write-buffer manager every store of one worker shares."""

    cache_bytes: int
    write_buffer_bytes: int
    _shared: tuple[Any, Any] | None = field(default=None, repr=False)

    @property
    def write_buffer_size(self) -> int:
        """One database's memtable size: a quarter of the budget, so a hot table's partitions
        flush on their own before the manager forces flushes of everything."""
        return max(MIB, self.write_buffer_bytes // 4)

    def shared(self) -> tuple[Any, Any]:
        """(rocksdict.Cache, rocksdict.WriteBufferManager), made on first use."""
        if self._shared is None:
            import rocksdict

            self._shared = (rocksdict.Cache(self.cache_bytes),
                            rocksdict.WriteBufferManager(self.write_buffer_bytes, False))
        return self._shared


@relies_on(("faust.stores.rocksdb:RocksDBOptions.as_options", "d2a1bea17736d2eb"),
           ("faust.stores.rocksdb:RocksDBOptions.open", "ff87e92d69e2f487"))
class BudgetedRocksDBOptions(RocksDBOptions):
    """Faust's options with the worker's shared cache and write-buffer manager. Relies on
    `open` building its `rocksdict.Options` with `self.as_options()`, and on `as_options`
    setting the block-based table factory (replaced here, with Faust's bloom filter and index)."""

    budget: RocksDBBudget

    def as_options(self) -> Any:
        import rocksdict

        options = super().as_options()
        cache, write_buffers = self.budget.shared()
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, True)
        table.set_block_cache(cache)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        options.set_write_buffer_manager(write_buffers)
        return options


def budgeted(options: RocksDBOptions, budget: RocksDBBudget) -> BudgetedRocksDBOptions:
    """`options` (what Faust built from the table's options) under `budget`."""
    bounded = BudgetedRocksDBOptions.__new__(BudgetedRocksDBOptions)
    vars(bounded).update(vars(options))
    bounded.write_buffer_size = budget.write_buffer_size
    bounded.max_write_buffer_number = MAX_WRITE_BUFFER_NUMBER
    bounded.block_cache_size = MIB  # the per-database cache Faust's as_options makes, replaced
    bounded.budget = budget
    return bounded


@relies_on(("faust.tables.base:Collection._new_store_by_url", "343a8125107d3f69"),
           ("faust.stores.rocksdb:Store._open_for_partition", "1dc4e0113d67379d"))
class BudgetedTable(faust.Table):
    """A table whose RocksDB stores share its class's `budget`. Relies on every store being made
    by `_new_store_by_url`, and on the store opening each partition's database with its
    `rocksdb_options` (set in its __init__, before any database is opened)."""

    budget: ClassVar[RocksDBBudget | None] = None

    def _new_store_by_url(self, url: Any) -> Any:
        store = super()._new_store_by_url(url)
        options = getattr(store, "rocksdb_options", None)
        if self.budget is not None and isinstance(options, RocksDBOptions) and options.use_rocksdict:
            store.rocksdb_options = budgeted(options, self.budget)
        return store


def budgeted_table_class(budget: RocksDBBudget) -> type[faust.Table]:
    """The App's `Table=` setting: a `BudgetedTable` sharing `budget` (one per worker)."""
    return type("BudgetedTable", (BudgetedTable,), {"budget": budget})
