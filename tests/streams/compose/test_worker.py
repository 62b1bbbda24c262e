"""The composition root hands the worker's recovery its bulk restore (a group-less reader built
from the worker's settings) only with the fast paths; stock Faust recovers on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from floor.settings import Settings
from streams.compose.worker import build_worker
from streams.kafka import seam

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("fast", [True, False])
def test_the_worker_restores_in_bulk_only_with_the_fast_paths(tmp_path: Path, fast: bool) -> None:
    composed = build_worker(Settings(data_dir=tmp_path, topic_prefix="p", worker_fast_paths=fast))
    recovery = composed.app.tables.recovery
    assert isinstance(recovery, seam.BulkRestoringRecovery)
    assert (recovery.open_reader is not None) is (fast and not seam.versions_drift())
