"""hooklog's JSON answers over aiohttp: `{"error": code, "detail": text}` for every refusal.

One builder for every error answer of ingest (and of the worker's API, which builds the same
body for Faust's views with `error_body`): small JSON, no secret, no stack trace.
"""

from __future__ import annotations

import orjson
from aiohttp import web


def error_body(code: str, detail: str) -> bytes:
    return orjson.dumps({"error": code, "detail": detail})


def json_error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    """An error answer: `status`, `{"error": code, "detail": detail}`, and the given headers."""
    return web.Response(status=status, body=error_body(code, detail), content_type="application/json",
                        headers=headers)
