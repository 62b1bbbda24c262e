"""Wiring the console into a worker's web app: routes, the fold-rate sampler, and the internal
views of the order index (built by the composition root) that other workers' consoles merge
(streams/order_index/internal.py)."""


from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from streams.api.forward import Router
from streams.api.readiness import readiness_of
from streams.console.auth import Auth
from streams.console.data import ConsoleData
from streams.order_index.fanout import FanOut
from streams.console.health import FoldRate, metric_total
from streams.order_index.keeper import IndexKeeper
from streams.order_index.internal import LocalIndex, install_internal
from streams.console.pages import Pages
from streams.console.render import stylesheet
from streams.notify.service import Alerting

if TYPE_CHECKING:
    from streams.worker.handle import Worker

PREFIX = "/console"
SAMPLE_EVERY_S = 2.0


def install_console(worker: Worker, router: Router, alerting: Alerting, keeper: IndexKeeper) -> None:
    """Add the console's routes to the worker's web app, reading `keeper`'s index of orders."""
    readiness = readiness_of(worker.health, worker.contact)
    app, settings = worker.app, worker.settings
    auth = Auth(settings)
    rate = FoldRate()
    local = LocalIndex(app, keeper, readiness, str(app.conf.canonical_url))
    tokens = settings.api_token_list  # the other workers' internal views want an API token, as key pages do
    fanout = FanOut(lambda: router.view_of("orders"), router.forwarder, local,
                    tokens[0].get_secret_value() if tokens else None)
    pages = Pages(ConsoleData(worker, router, fanout, readiness), auth, settings, rate, readiness, alerting)

    @app.timer(SAMPLE_EVERY_S)
    async def sample_fold_rate() -> None:
        rate.sample(metric_total(worker.metrics.registry, "hooklog_worker_events_folded"))

    async def css(request: web.Request) -> web.StreamResponse:
        return stylesheet()

    async def to_home(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{PREFIX}/")

    need = auth.required
    routes = app.web.web_app.router  # type: ignore[attr-defined] - Faust's aiohttp driver
    routes.add_get(f"{PREFIX}", to_home)
    routes.add_get(f"{PREFIX}/static/console.css", css)
    routes.add_get(f"{PREFIX}/login", auth.login_form)
    routes.add_post(f"{PREFIX}/login", auth.login)
    routes.add_post(f"{PREFIX}/logout", need(auth.logout))
    routes.add_get(f"{PREFIX}/", need(pages.home))
    routes.add_get(f"{PREFIX}/search", need(pages.search))
    routes.add_get(f"{PREFIX}/orders", need(pages.orders))
    routes.add_get(f"{PREFIX}/orders/{{order_id}}", need(pages.order))
    routes.add_get(f"{PREFIX}/users/{{user_id}}", need(pages.user))
    routes.add_get(f"{PREFIX}/kuenta/{{family}}/{{ident}}", need(pages.kuenta))
    routes.add_get(f"{PREFIX}/alerts", need(pages.alerts))
    routes.add_post(f"{PREFIX}/alerts/act", need(pages.act))
    routes.add_get(f"{PREFIX}/dlq", need(pages.dlq))
    routes.add_post(f"{PREFIX}/dlq/redrive", need(pages.redrive))
    install_internal(routes, local)  # behind the API's bearer token (streams/api/access.py)
