"""HTTPS for the worker's web server (floor/tls.py does the work): the reloader of a renewed
certificate runs while Faust's aiohttp server runs.

Faust serves `web_ssl_context` (the reloader's `context`, given to `faust.App`); its watch and
SIGHUP handler need the running loop, so they start with the web app (aiohttp's `on_startup`,
run by Faust's `start_server`) and stop at its cleanup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from floor.tls import CertificateReloader
from streams.worker.handle import Worker


def install_tls(worker: Worker, tls: CertificateReloader | None) -> None:
    """Keep `tls` (None: plain HTTP) on the handle, reloading while the web server runs."""
    worker.tls = tls
    if tls is None:
        return
    stops: list[Callable[[], None]] = []

    async def start(web_app: Any) -> None:
        stops.append(tls.start(worker.settings.tls_reload_s))

    async def stop(web_app: Any) -> None:
        while stops:
            stops.pop()()

    web_app = worker.app.web.web_app  # type: ignore[attr-defined] - Faust's aiohttp driver
    web_app.on_startup.append(start)
    web_app.on_cleanup.append(stop)
