"""Wiring the alerting parts into a worker: one Faust task running `Alerting` beside the fold
agent (not in it), its metrics on the worker's registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.envelope import utcnow
from streams.notify.service import Alerting

if TYPE_CHECKING:
    from streams.worker.handle import Worker


def install_alerting(worker: Worker) -> Alerting:
    settings = worker.settings
    alerting = Alerting(settings, worker.metrics.registry, utcnow, fold=True, notify=settings.notify_in_worker)

    @worker.app.task
    async def alerting_parts() -> None:  # cancelled when the worker stops, which stops their consumers
        await alerting.run()

    return alerting
