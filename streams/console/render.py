"""HTML responses of the console: Jinja2 with autoescape on, and the security headers on every answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

HERE = Path(__file__).parent
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.filters["when"] = _when
ENV.filters["ms"] = lambda ms: _when(datetime.fromtimestamp(ms / 1000, UTC))


def secured(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(HEADERS)
    return response


def page(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> web.Response:
    body = ENV.get_template(template).render(**{"user": None, "csrf": "", **context})
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=headers)
    return secured(response)  # type: ignore[return-value]


def redirect(location: str, status: int = 303) -> web.Response:
    return secured(web.Response(status=status, headers={"Location": location}))  # type: ignore[return-value]


def stylesheet() -> web.Response:
    response = web.Response(body=(HERE / "static" / "console.css").read_bytes(), content_type="text/css")
    secured(response)
    response.headers["Cache-Control"] = "max-age=300"
    return response
