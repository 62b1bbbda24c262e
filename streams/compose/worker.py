"""Build one worker: the app and its tables (with their bulk restore), the order index, the fold
agent, the API, alerting and the console, each handed what it needs (nothing below reaches up for it)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from floor.kafka.topic_reader import reader
from floor.settings import Settings
from streams.api.access import Guesses
from streams.api.alerts import install_alert_views
from streams.api.forward import Router
from streams.api.query import QueryApi, build_router
from streams.api.readiness import readiness_of
from streams.api.views import install_views
from streams.order_index.keeper import IndexKeeper
from streams.console.install import install_console
from streams.kafka.seam import install_bulk_restore
from streams.notify.install import install_alerting
from streams.notify.service import Alerting
from streams.worker.app import add_fold_agent, build_app
from streams.worker.fold_loop import FoldLoop
from streams.worker.handle import Worker


@dataclass
class ComposedWorker:
    """A built worker with the parts composed on it: what the runner, tests and benches hold."""

    worker: Worker
    fold: FoldLoop
    router: Router
    alerting: Alerting
    index: IndexKeeper  # the orders-by-state index, the fold loop's observer

    @property
    def app(self) -> faust.App:
        return self.worker.app


def build_worker(settings: Settings) -> ComposedWorker:
    worker = build_app(settings)
    if worker.fast_paths:
        # changelogs straight into RocksDB before Faust's per-event recovery, read by a group-less
        # consumer built from the worker's settings (client security included; faust_restore.py)
        install_bulk_restore(worker.app, lambda: reader(settings, fetch_bytes=settings.worker_fetch_bytes, timeout_s=30.0,
                                                        doing="restore the tables from their changelogs"))
    index = IndexKeeper(worker.app, worker.tables["orders"], worker.topics["raw"].get_topic_name(),
                        settings.partitions, readiness_of(worker.health, worker.contact))
    fold = add_fold_agent(worker, index)
    router = build_router(worker)
    api = QueryApi(worker, router)
    guesses = Guesses.of(settings)  # wrong tokens per address, the API's and the console login's alike
    install_views(api, guesses)
    alerting = install_alerting(worker)
    install_alert_views(api, alerting.desk)
    install_console(worker, router, alerting, index, guesses)
    return ComposedWorker(worker, fold, router, alerting, index)
