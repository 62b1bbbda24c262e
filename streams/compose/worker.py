"""Build one worker: the app and its tables, the order index, the fold agent, the API, alerting
and the console, each handed what it needs (nothing below reaches up for it)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from floor.settings import Settings
from streams.api.access import Guesses
from streams.api.alerts import install_alert_views
from streams.api.forward import Router
from streams.api.query import QueryApi, build_router
from streams.api.readiness import readiness_of
from streams.api.views import install_views
from streams.order_index.keeper import IndexKeeper
from streams.console.install import install_console
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
