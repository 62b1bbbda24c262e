"""What the console relies on in faust-streaming's private parts (streams/console/seam.py)."""

from __future__ import annotations

import inspect

import pytest
from faust.assignor.partition_assignor import PartitionAssignor
from faust.stores.rocksdb import Store

from streams.console import seam

pytestmark = pytest.mark.unit


def test_rocksdb_store_still_reads_the_current_events_partition_and_iterates_one_partition() -> None:
    source = inspect.getsource(Store._get)
    assert "event.message.partition" in source and "_db_for_partition" in source, "Store._get changed"
    for name in ("_db_for_partition", "_visible_items", "_decode_key", "_decode_value"):
        assert callable(getattr(Store, name, None)), f"faust's RocksDB Store lost {name}"
    assert callable(getattr(PartitionAssignor, "assigned_actives", None))
    assert seam._current_event.get(None) is None  # the context variable Faust reads


def test_the_stand_in_event_carries_what_store_get_reads() -> None:
    stand_in = seam._AtPartition(3)
    assert stand_in.message.partition == 3
