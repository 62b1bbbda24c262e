"""Which partition holds a raw key: ONE function for ingest's producer, the worker's query routing
and the console (docs/operations.md, "Running many workers").

The raw record's key is the aggregate id ingest's routing found (orderId; a Koywe user's id,
emails lower-cased; Kuenta's `data.id`; `<source>:<id>` for configured sources), and every table
is keyed by the same string (`decode_fact` refuses a record whose body names another id), so a
table key's partition is the partition of its UTF-8 bytes. Not Faust's `table_route`: that hashes
the JSON-serialised key (`"ord-1"` with quotes), which lands elsewhere for most keys.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import DefaultPartitioner, murmur2


@lru_cache(maxsize=16_384)
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def key_partitioner(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's DefaultPartitioner (the Java client's murmur2, so every producer and the
    worker's tables agree on a key's partition) with recent keys' hashes cached: pure-Python
    murmur2 costs a few µs a record, and an aggregate's events share its key."""
    if key is None:
        return DefaultPartitioner()(key, all_partitions, available)
    return all_partitions[_key_hash(key) % len(all_partitions)]


def partition_for(key: str | bytes, partitions: int) -> int:
    """The partition ingest's producer puts a raw record keyed `key` in, of `partitions`."""
    raw = key.encode() if isinstance(key, str) else key
    return _key_hash(raw) % partitions
