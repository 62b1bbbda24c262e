"""`POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4) for Kuenta's token mode.

Answers (RFC 6749 §5.1/§5.2) `200 {"access_token", "token_type": "Bearer", "expires_in"}` with
`Cache-Control: no-store`, or `400 invalid_request` / `unsupported_grant_type`, `401
invalid_client`. A refused request counts, like a failed signature, toward the failed-attempt
limit of the client's address (ingest/gateway/ratelimit.py): beyond it the answer is `429` + Retry-After.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from floor.client_address import ClientAddress
from floor.logs import LineLogger
from floor.ratelimit import FailureLimiter, retry_after
from floor.settings import Settings
from ingest.gateway.metrics import IngestMetrics
from ingest.senders.tokens import client_ok, credentials, issue
from schemas.errors import DecodeError

log = LineLogger("ingest")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_TOKEN_REQUEST_BYTES = 8192


def _oauth_error(status: int, code: str, description: str, headers: dict[str, str] | None = None) -> web.Response:
    body = orjson.dumps({"error": code, "error_description": description})
    return web.Response(status=status, body=body, content_type="application/json", headers={**NO_STORE, **(headers or {})})


def token_handler(settings: Settings, failures: FailureLimiter, clients: ClientAddress, metrics: IngestMetrics,
                  now: Callable[[], float]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The endpoint's handler; `now` is the clock tokens are issued by (Unix seconds)."""
    known = settings.kuenta_token_client_map
    refused = metrics.token_requests.labels("refused")
    issued = metrics.token_requests.labels("issued")

    def refuse(request: web.Request, status: int, code: str, description: str,
               headers: dict[str, str] | None = None) -> web.Response:
        refused.inc()
        wait = failures.failed(clients.resolve(request))
        log.info("token_refused", status=status, error=code)
        if wait:
            metrics.limited("kuenta", "failed_token_requests")
            return _oauth_error(429, "slow_down", f"{description}; too many failed token requests from this "
                                f"address, retry in {retry_after(wait)}s", {"Retry-After": retry_after(wait)})
        return _oauth_error(status, code, description, headers)

    async def token(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_TOKEN_REQUEST_BYTES:
            return refuse(request, 400, "invalid_request", f"the request exceeds {MAX_TOKEN_REQUEST_BYTES} bytes")
        body = await request.content.read(MAX_TOKEN_REQUEST_BYTES + 1)
        if len(body) > MAX_TOKEN_REQUEST_BYTES:
            return refuse(request, 400, "invalid_request", f"the request exceeds {MAX_TOKEN_REQUEST_BYTES} bytes")
        try:
            creds = credentials(body, request.headers.get("Content-Type", ""), request.headers.get("Authorization"))
        except DecodeError as exc:
            return refuse(request, 400, "invalid_request", str(exc))
        if creds.grant_type != "client_credentials":
            return refuse(request, 400, "unsupported_grant_type" if creds.grant_type else "invalid_request",
                          "grant_type must be client_credentials")
        if not client_ok(known, creds.client_id, creds.client_secret):
            challenge = {"WWW-Authenticate": 'Basic realm="hooklog"'} if creds.basic else None
            return refuse(request, 401, "invalid_client", "unknown client or wrong secret", challenge)
        assert creds.client_id is not None
        answer = issue(creds.client_id, known[creds.client_id], now=now(), ttl_s=settings.kuenta_token_ttl_s)
        issued.inc()
        return web.Response(body=orjson.dumps({"access_token": answer.access_token, "token_type": "Bearer",
                                               "expires_in": answer.expires_in}),
                            content_type="application/json", headers=NO_STORE)

    return token
