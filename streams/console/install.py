"""Wiring the console into a worker's web app: routes, the fold-rate sampler, the order index and
the internal views other workers' consoles merge (streams/console/internal.py)."""


from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from streams.console.auth import Auth
from streams.console.data import ConsoleData
from streams.console.fanout import FanOut
from streams.console.health import FoldRate, metric_total
from streams.console.indexer import IndexKeeper
from streams.console.internal import LocalIndex, install_internal
from streams.console.pages import Pages
from streams.console.render import stylesheet

if TYPE_CHECKING:
    from streams.worker.handle import Worker

PREFIX = "/console"
SAMPLE_EVERY_S = 2.0


def install_console(worker: Worker) -> IndexKeeper:
    """Add the console's routes to the worker's web app; the index keeper the fold loop feeds."""
    from streams.api.readiness import readiness_of

    readiness = readiness_of(worker.health, worker.contact)

    app, settings = worker.app, worker.settings
    raw_topic = worker.topics["raw"].get_topic_name()
    keeper = IndexKeeper(app, worker.tables["orders"], raw_topic, settings.partitions, readiness)
    auth = Auth(settings)
    rate = FoldRate()
    local = LocalIndex(app, keeper, readiness, str(app.conf.canonical_url))
    tokens = settings.api_token_list  # the other workers' internal views want an API token, as key pages do
    fanout = FanOut(lambda: worker.router.view_of("orders"), worker.router.forwarder, local,
                    tokens[0].get_secret_value() if tokens else None)
    pages = Pages(ConsoleData(worker, fanout, readiness), auth, settings, rate, readiness)

    @app.timer(SAMPLE_EVERY_S)
    async def sample_fold_rate() -> None:
        rate.sample(metric_total(worker.metrics.registry, "hooklog_worker_events_folded"))

    async def css(request: web.Request) -> web.StreamResponse:
        return stylesheet()

    async def to_home(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{PREFIX}/")

    need = auth.required
    router = app.web.web_app.router  # type: ignore[attr-defined] - Faust's aiohttp driver
    router.add_get(f"{PREFIX}", to_home)
    router.add_get(f"{PREFIX}/static/console.css", css)
    router.add_get(f"{PREFIX}/login", auth.login_form)
    router.add_post(f"{PREFIX}/login", auth.login)
    router.add_post(f"{PREFIX}/logout", need(auth.logout))
    router.add_get(f"{PREFIX}/", need(pages.home))
    router.add_get(f"{PREFIX}/search", need(pages.search))
    router.add_get(f"{PREFIX}/orders", need(pages.orders))
    router.add_get(f"{PREFIX}/orders/{{order_id}}", need(pages.order))
    router.add_get(f"{PREFIX}/users/{{user_id}}", need(pages.user))
    router.add_get(f"{PREFIX}/kuenta/{{family}}/{{ident}}", need(pages.kuenta))
    router.add_get(f"{PREFIX}/alerts", need(pages.alerts))
    router.add_post(f"{PREFIX}/alerts/act", need(pages.act))
    router.add_get(f"{PREFIX}/dlq", need(pages.dlq))
    router.add_post(f"{PREFIX}/dlq/redrive", need(pages.redrive))
    install_internal(router, local)  # behind the API's bearer token (streams/api/access.py)
    return keeper
