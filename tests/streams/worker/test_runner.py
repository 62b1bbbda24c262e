"""The worker discards local table stores that do not match the cluster or its changelogs, and
refuses to start on a raw topic with another partition count than HOOKLOG_PARTITIONS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ctypes.util
import subprocess
import sys

import pytest

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from streams.worker.memory import cap_malloc_arenas, trim_malloc
from streams.worker.runner import discard_stores_of_another_cluster
from tests.kafka_fixtures import REPO, hooklog


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "p-worker" / "tables" / "orders.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("cache")
    return store


@pytest.mark.unit
def test_stores_of_another_cluster_are_discarded_and_ours_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, topic_prefix="p")
    assert not discard_stores_of_another_cluster(settings, "A:no-changelogs")  # nothing local yet
    store = _store(tmp_path)
    assert not discard_stores_of_another_cluster(settings, "A:changelogs") and store.exists()
    assert discard_stores_of_another_cluster(settings, "B:changelogs")
    assert not store.exists() and (tmp_path / "p-worker" / "kafka-cluster-id").read_text() == "B:changelogs"
    assert not discard_stores_of_another_cluster(settings, None)  # broker unknown: touch nothing


@pytest.mark.unit
def test_stores_are_discarded_when_the_changelogs_are_gone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, topic_prefix="p")
    store = _store(tmp_path)
    assert discard_stores_of_another_cluster(settings, "A:no-changelogs")
    assert not store.exists()


@pytest.mark.kafka
@pytest.mark.parametrize("role", ["worker", "ingest"])
async def test_refuses_to_start_when_the_raw_topic_has_another_partition_count(
        role: str, own_topics: None, make_settings: Callable[..., Settings]) -> None:
    await ensure_topics(make_settings(partitions=2))
    done = hooklog(make_settings(partitions=3), role)  # returns: the process refused to start
    assert done.returncode == 2, done.stderr[-2000:]
    message = done.stderr
    assert "partitions is 2, hooklog needs 3 (HOOKLOG_PARTITIONS=3)" in message, message[-2000:]
    assert "set HOOKLOG_PARTITIONS=2" in message and "a new HOOKLOG_TOPIC_PREFIX" in message


@pytest.mark.unit
def test_stores_of_another_store_epoch_are_discarded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, topic_prefix="p")
    store = _store(tmp_path)
    (tmp_path / "p-worker" / "kafka-cluster-id").write_text("A:changelogs")  # a marker from before epochs
    assert not discard_stores_of_another_cluster(settings, "A:changelogs:0") and store.exists()
    reason = discard_stores_of_another_cluster(settings, "A:changelogs:e2")  # a reset ran somewhere
    assert reason is not None and "store epoch 0" in reason and "epoch e2" in reason and not store.exists()
    store = _store(tmp_path)
    assert not discard_stores_of_another_cluster(settings, "A:changelogs:e2") and store.exists()


@pytest.mark.unit
def test_malloc_arenas_are_capped_where_glibc_is_and_left_alone_at_0() -> None:
    assert cap_malloc_arenas(0) is False
    script = "from streams.worker.memory import cap_malloc_arenas; print(cap_malloc_arenas(2))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    glibc = "libc.so" in (ctypes.util.find_library("c") or "")
    assert done.stdout.strip() == str(glibc)


@pytest.mark.unit
def test_freed_memory_is_handed_back_where_glibc_is() -> None:
    glibc = "libc.so" in (ctypes.util.find_library("c") or "")
    blocks = [bytearray(64 * 1024) for _ in range(2000)]  # ~128 MiB in small-ish blocks, then freed
    del blocks
    assert trim_malloc() is glibc
