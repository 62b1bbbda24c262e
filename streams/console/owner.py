"""Which raw partition holds an aggregate: the partition ingest's partitioner gave its key.

The scale-out work (issue 11) brings one shared routing function; until then this calls ingest's
own partitioner, so the console and ingest agree by construction.
"""

from __future__ import annotations

from ingest.producer import key_partitioner


def owner_partition(key: str, partitions: int) -> int:
    everything = list(range(partitions))
    return key_partitioner(key.encode(), everything, everything)
