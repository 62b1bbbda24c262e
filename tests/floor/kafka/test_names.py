"""names.py spells what Faust itself derives: the worker's app id (its consumer group), each
table's changelog topic and the store dir, so verify, reset and promote touch the real ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from floor.kafka.names import app_id, changelog_topic, store_dir, worker_group
from floor.settings import Settings
from projections.registry import PROJECTIONS
from streams.worker.app import build_app

pytestmark = pytest.mark.unit


def test_the_names_are_the_ones_faust_uses(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, topic_prefix="p")
    worker = build_app(settings)  # builds the app, no broker contacted
    assert worker.app.conf.id == app_id(settings) == worker_group(settings) == "p-worker"  # Faust's group_id is conf.id
    assert Path(worker.app.conf.datadir) == store_dir(settings) == tmp_path / "p-worker"
    for projection in PROJECTIONS:
        table = worker.tables[projection.name]
        assert table.changelog_topic.get_topic_name() == changelog_topic(settings, projection.name)
