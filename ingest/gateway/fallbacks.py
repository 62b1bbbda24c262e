"""aiohttp's own 404/405/500 answers as hooklog's JSON errors, without a middleware.

Any middleware costs every request two layers (aiohttp adds its own `current_app` layer beside
it) and a handler chain lookup. Instead: every path gets a `*` route after its real ones, which
answers 405 with `Allow` as aiohttp would; a last `/{tail:.*}` route answers 404 for any other
path; and `guarded` turns an exception a handler raises into a JSON 500 (logged) or, for
aiohttp's HTTP errors, their JSON form. Nothing else leaks (no stack trace, no aiohttp text).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import hdrs, web

from floor.logs import LineLogger
from floor.responses import json_error

log = LineLogger("ingest")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
                413: "body_too_large", 415: "unsupported_media_type", 500: "internal_error"}
KEPT_ERROR_HEADERS = ("Allow", "Retry-After")


def http_error(exc: web.HTTPException) -> web.Response:
    """An aiohttp HTTP error (status >= 400) as hooklog's JSON, with its Allow/Retry-After."""
    headers = {name: exc.headers[name] for name in KEPT_ERROR_HEADERS if name in exc.headers}
    return json_error(exc.status, STATUS_CODES.get(exc.status, "http_error"), exc.reason, headers)


def internal_error(request: web.Request) -> web.Response:
    """The last line of defence: log the exception being handled, answer a plain 500."""
    log.exception("unhandled", path=request.path[:200], method=request.method)
    return json_error(500, "internal_error", "unexpected error; it has been logged")


def guarded(handler: Handler) -> Handler:
    """`handler`, with what it raises answered as JSON (500 for anything but an HTTP error)."""

    @wraps(handler)
    async def guard(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return http_error(exc)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - answered and logged, never leaked
            return internal_error(request)

    return guard


def _method_not_allowed(allowed: frozenset[str]) -> Handler:
    error = web.HTTPMethodNotAllowed("*", allowed)  # aiohttp's own Allow header and reason

    async def method_not_allowed(request: web.Request) -> web.Response:
        return http_error(error)

    return method_not_allowed


async def not_found(request: web.Request) -> web.Response:
    return http_error(web.HTTPNotFound())


def add_fallbacks(router: web.UrlDispatcher) -> None:
    """After every route is added: a 405 route on each resource, then the 404 catch-all."""
    for resource in list(router.resources()):
        allowed = frozenset(route.method for route in resource if route.method != hdrs.METH_ANY)
        resource.add_route(hdrs.METH_ANY, _method_not_allowed(allowed))
    router.add_route(hdrs.METH_ANY, "/{tail:.*}", not_found)
