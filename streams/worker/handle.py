"""The handle on a built worker: its Faust app and what its views and tests read.

Its own module so the query views (streams/api/views.py) can take a worker without importing
the module that builds the Faust app. What the parts above the worker add (the API's router,
alerting, the order index) is held by the composition root's handle (streams/compose/worker.py),
not here: the worker knows nothing of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import faust

from floor.settings import Settings
from floor.tls import CertificateReloader
from streams.worker.health import FoldHealth, GroupContact
from streams.worker.metrics import WorkerMetrics
from streams.worker.positions import FoldedPositions
from streams.worker.waiters import FoldWaiters


@dataclass
class Worker:
    """The Faust app and the handles its views and tests need."""

    app: faust.App
    settings: Settings
    tables: dict[str, faust.Table]
    topics: dict[str, faust.TopicT]
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    waiters: FoldWaiters = field(default_factory=FoldWaiters)
    tls: CertificateReloader | None = None  # the web server's certificate (floor/tls.py), None for plain HTTP
    health: FoldHealth = field(default_factory=FoldHealth)  # whether batches land (streams/worker/fold_loop.py)
    positions: FoldedPositions = field(default_factory=FoldedPositions)  # how far each raw partition folded
    contact: GroupContact | None = None  # whether the group coordinator still answers (None: not watched)
    fast_paths: bool = False  # the seam's fast paths are on (streams/worker/app.py's fast_paths)
