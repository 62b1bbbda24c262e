"""The one seam to faust-streaming's and aiokafka's private parts: import from here only.

Every touch of a library's internals is a small named item below, whose docstring says what it
relies on and why; `pins.relies_on` records the source digest of each private body it depends
on, and tests/streams/kafka/test_seam.py fails loudly when an upgrade changes one of them
(versions checked: `pins.PINNED`).

- faust_tables: the recovery seek/resume fix (a `Recovery` subclass, installed through Faust's
  `TableManager` setting), Faust's current event for RocksDB reads/writes, one partition's read
  and iteration, the active partitions and JSON-encoded changelog keys;
- faust_transport: sending after the buffered changelog writes, the consumer's in-memory
  offsets for the lag reader (`SeamBrokenError` when they moved), and the consumer that rewinds
  never-committed partitions when Faust seeks to the committed offsets (always installed);
- faust_fast_paths: Faust's per-record machinery made cheaper (a direct delivery when it cannot
  block instead of `wait_first`, the Monitor's per-record hooks as no-ops, the raw topic's
  records made events without Faust's codecs), installed only on the pinned versions;
- faust_assignor: every member's active partitions by advertised URL (routing), and Faust's
  recovery/rebalance flags (readiness);
- faust_batch_writes: a fold batch's RocksDB puts, changelog records and published records
  handed to aiokafka as one record batch per partition, bypassing Faust's per-record paths;
- faust_batches: Faust's `take_events` acking a batch only once the loop body finished it;
- faust_rocksdb: every RocksDB store of a worker under one block cache and one write-buffer
  budget (the `Table` class the worker's App uses);
- from floor/seam (both services' part of the seam, re-exported here): aiokafka_admin
  (deleting a consumer group by a raw DeleteGroups request), aiokafka_consumer (stopping a
  consumer whose fetcher swallowed its own cancellation), aiokafka_coordinator (when the group
  coordinator last answered: a cut-off worker stops claiming its keys), pins (the one version table and
  `relies_on`); and floor/kafka/names.py's pinned `changelog_topic_name`.
"""

from floor.kafka.names import changelog_topic_name
from floor.seam.aiokafka_admin import delete_consumer_group
from floor.seam.aiokafka_consumer import fetch_task, stop_consumer
from floor.seam.aiokafka_coordinator import install_contact_clock, last_heard
from floor.seam.pins import PINNED, RELIANCES, SeamBrokenError, digest, versions_drift
from streams.kafka.seam.faust_assignor import faust_status, owner_urls
from streams.kafka.seam.faust_batch_writes import BATCH_BYTES, BatchWrites, StoreWriteError
from streams.kafka.seam.faust_batches import take_acked
from streams.kafka.seam.faust_fast_paths import (
    FastDeliveryConsumer,
    FastDeliveryTransport,
    LeanMonitor,
    RawBytesSchema,
    install_fast_delivery,
    fast_path_settings,
)
from streams.kafka.seam.faust_restore import BulkRestoringRecovery, BulkRestoringTableManager, install_bulk_restore
from streams.kafka.seam.faust_rocksdb import BudgetedRocksDBOptions, BudgetedTable, RocksDBBudget, budgeted_table_class
from streams.kafka.seam.faust_tables import (
    AtPartition,
    SeekBeforeResumeTableManager,
    SeekBeforeResumeRecovery,
    active_partitions,
    as_current,
    changelog_key,
    key_from_changelog,
    partition_items,
    read_in_partition,
)
from streams.kafka.seam.faust_transport import (
    RewindingTransport,
    RewindingConsumer,
    committed_offset,
    committed_position,
    install_transport,
    never_committed,
    seek_to_committed_or_beginning,
    flush_changelog_writes,
    send_unbuffered,
    started_consumer,
)

__all__ = [
    "PINNED", "RELIANCES", "BATCH_BYTES", "BatchWrites", "StoreWriteError", "take_acked", "BudgetedRocksDBOptions", "BudgetedTable", "RocksDBBudget", "budgeted_table_class", "AtPartition", "FastDeliveryConsumer", "FastDeliveryTransport", "LeanMonitor",
    "RawBytesSchema", "install_fast_delivery", "fast_path_settings", "SeekBeforeResumeTableManager", "SeamBrokenError", "SeekBeforeResumeRecovery",
    "active_partitions", "as_current", "changelog_key", "changelog_topic_name", "committed_offset", "committed_position",
    "delete_consumer_group", "digest", "flush_changelog_writes", "key_from_changelog", "partition_items",
    "read_in_partition", "send_unbuffered", "started_consumer", "versions_drift",
    "faust_status", "fetch_task", "owner_urls", "stop_consumer", "install_contact_clock", "last_heard",
    "BulkRestoringRecovery", "BulkRestoringTableManager", "install_bulk_restore",
    "RewindingTransport", "RewindingConsumer", "install_transport", "never_committed", "seek_to_committed_or_beginning",
]
