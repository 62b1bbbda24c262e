"""The worker discards local table stores that do not match the cluster or its changelogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.settings import Settings
from streams.worker.runner import discard_stores_of_another_cluster

pytestmark = pytest.mark.unit


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "p-worker" / "tables" / "orders.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("cache")
    return store


def test_stores_of_another_cluster_are_discarded_and_ours_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, topic_prefix="p")
    assert not discard_stores_of_another_cluster(settings, "A:no-changelogs")  # nothing local yet
    store = _store(tmp_path)
    assert not discard_stores_of_another_cluster(settings, "A:changelogs") and store.exists()
    assert discard_stores_of_another_cluster(settings, "B:changelogs")
    assert not store.exists() and (tmp_path / "p-worker" / "kafka-cluster-id").read_text() == "B:changelogs"
    assert not discard_stores_of_another_cluster(settings, None)  # broker unknown: touch nothing


def test_stores_are_discarded_when_the_changelogs_are_gone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, topic_prefix="p")
    store = _store(tmp_path)
    assert discard_stores_of_another_cluster(settings, "A:no-changelogs")
    assert not store.exists()
