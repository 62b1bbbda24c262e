"""Access control of the worker's HTTP API: deny by default.

Every path needs `Authorization: Bearer <one of HOOKLOG_API_TOKENS>` except `/healthz`, `/readyz` and
`/metrics` (open, nothing sensitive), `/auth/koywe` (Koywe's callback checks its own
HOOKLOG_KOYWE_AUTH_TOKENS) and `/console/...` (the console's cookie session, streams/console/auth.py). Unset tokens close the API (503 with a clear message) rather than
open it. Deny-by-default also covers Faust's own pages and any view added later.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import SecretStr

from floor.logs import get_logger
from floor.responses import json_error

PEER = "X-Hooklog-Peer"  # a worker forwarding a query: HOOKLOG_PEER_SECRET (streams/api/forward.py)
PEER_TRUSTED = web.RequestKey("hooklog_peer", bool)  # set on a request another worker vouched for (its view skips its own token check)
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
OWN_TOKEN_PATHS = frozenset({"/auth/koywe"})
CONSOLE = "/console"  # the operator console checks its own session cookie (streams/console/auth.py)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = get_logger("worker.api")


def _digest(token: str | bytes) -> bytes:
    return hashlib.sha256(token.encode() if isinstance(token, str) else token).digest()


def bearer_ok(header: str | None, tokens: tuple[SecretStr, ...]) -> bool:
    """Constant-time check of `Authorization: Bearer <token>` against every configured token:
    fixed-length digests are compared, and every token is tried, so neither the position of the
    matching token nor a token's length shows in the timing."""
    if not header or not tokens:
        return False
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    offered = _digest(presented.strip())
    matches = [hmac.compare_digest(offered, _digest(t.get_secret_value())) for t in tokens]
    return any(matches)


def peer_ok(header: str | None, secret: SecretStr | None) -> bool:
    """Constant-time check of `X-Hooklog-Peer` against HOOKLOG_PEER_SECRET (unset: never)."""
    if not header or secret is None:
        return False
    return hmac.compare_digest(_digest(header), _digest(secret.get_secret_value()))


def api_guard(tokens: tuple[SecretStr, ...], on_refused: Callable[[int], None] = lambda status: None,
              peer_secret: SecretStr | None = None) -> Callable:
    """aiohttp middleware: bearer tokens on everything but the open paths (a request forwarded by
    a worker holding the peer secret stands in for the token its sender checked); JSON errors for
    aiohttp's own 404/405/500 so no HTML or stack trace leaks."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        console = request.path == CONSOLE or request.path.startswith(f"{CONSOLE}/")
        if peer_ok(request.headers.get(PEER), peer_secret):
            request[PEER_TRUSTED] = True
        elif request.path not in OPEN_PATHS and request.path not in OWN_TOKEN_PATHS and not console:
            if not tokens:
                on_refused(503)
                return json_error(503, "not_configured", "the query API is closed: set HOOKLOG_API_TOKENS "
                                  "(comma-separated bearer tokens) on the worker")
            if not bearer_ok(request.headers.get("Authorization"), tokens):
                on_refused(401)
                return json_error(401, "unauthorized", "missing or wrong bearer token",
                                  {"WWW-Authenticate": 'Bearer realm="hooklog"'})
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return json_error(exc.status, "not_found" if exc.status == 404 else "http_error", exc.reason, allow)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the last line of defence: log it, answer a plain 500
            log.exception("unhandled", path=request.path[:200], method=request.method)
            return json_error(500, "internal_error", "unexpected error; it has been logged")

    return guard
