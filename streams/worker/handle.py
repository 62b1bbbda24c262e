"""The handle on a built worker: its Faust app and what its views and tests read.

Its own module so the query views (streams/api/views.py) can take a worker without importing
the module that builds the Faust app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from floor.settings import Settings
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
    console: Any = None  # the console's order-index keeper (streams/console), set by install_views
    router: Any = None  # routes a key's query to its owner (streams/api/forward.py), set by install_views
    alerting: Any = None  # lifecycles, clearing, notifiers, the action desk (streams/notify/service.py)
    tls: Any = None  # the web server's CertificateReloader (floor/tls.py), None for plain HTTP
    health: FoldHealth = field(default_factory=FoldHealth)  # whether batches land (streams/worker/fold_loop.py)
    positions: FoldedPositions = field(default_factory=FoldedPositions)  # how far each raw partition folded
    contact: GroupContact | None = None  # whether the group coordinator still answers (None: not watched)
