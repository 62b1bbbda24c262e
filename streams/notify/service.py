"""What runs the alerting parts: inside `hooklog worker` (the lifecycle folder and clearing
feed always; the notifiers unless `HOOKLOG_NOTIFY_IN_WORKER=false`) or `hooklog notify` (the
notifiers alone). Each part restarts after a failure (logged), so a broker hiccup or a bad
record never stops the worker's folds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry

from floor.settings import Settings
from streams.notify.actions import ActionDesk
from streams.notify.clearing import ClearingFeed
from streams.notify.consumer import run_forever
from streams.notify.lifecycle import LifecycleFolder
from streams.notify.metrics import NotifyMetrics
from streams.notify.notifier import Notifier


class Alerting:
    def __init__(self, settings: Settings, registry: CollectorRegistry, clock: Callable[[], datetime], *,
                 fold: bool, notify: bool) -> None:
        self.settings = settings
        self.metrics = NotifyMetrics(registry)
        self.desk = ActionDesk(settings, clock)
        self.sinks = settings.notify_sinks  # a malformed HOOKLOG_NOTIFY stops the start (ConfigError)
        self.parts: dict[str, Callable[[], object]] = {}
        if fold:
            self.folder = LifecycleFolder(settings, clock=clock)
            self.parts["lifecycle"] = self.folder.run
            self.parts["clearing"] = ClearingFeed(settings).run
        if notify:
            self.notifiers = [Notifier(settings, sink, self.metrics, clock) for sink in self.sinks]
            self.parts.update({f"notify:{n.sink.label}": n.run for n in self.notifiers})

    async def run(self) -> None:
        """Every part, until cancelled (the worker's stop); cancelling stops their consumers."""
        try:
            await asyncio.gather(*(run_forever(name, part) for name, part in self.parts.items()))  # type: ignore[arg-type]
        finally:
            await self.desk.close()
