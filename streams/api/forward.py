"""The HTTP shell of the routing decision (streams/api/routing.py): answer locally, forward once
to the key's owner with hooklog's own client, or refuse with 503 + Retry-After.

A forwarded request carries `X-Hooklog-Forwarded: <sender URL>`; the worker receiving it answers
from its own active partition or refuses (`not_owner`), it never forwards again, so a stale
assignment on two workers cannot bounce a request between them. The method, path, query, body,
`Content-Type` and the caller's `Authorization` go to the owner — or, with HOOKLOG_PEER_SECRET,
`X-Hooklog-Peer` instead of `Authorization` (streams/api/access.py), so no member sees callers' tokens; its status, body, `Content-Type` and
`Retry-After` come back. An owner that does not answer within the timeout is `owner_unreachable`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from floor.kafka.partitioning import partition_for
from floor.responses import json_error

from streams.api.access import PEER
from streams.api.freshness import HEADERS as FRESHNESS_HEADERS
from streams.api.freshness import Freshness
from streams.api.routing import Forward, Local, Refuse, WorkerView, route

FORWARDED = "X-Hooklog-Forwarded"
SENT_ON = ("Authorization", "Content-Type")
PASSED_BACK = ("Content-Type", "Retry-After", *FRESHNESS_HEADERS)  # the owner's freshness (streams/api/freshness.py)


def refusal(refuse: Refuse) -> web.Response:
    return json_error(503, refuse.reason, refuse.detail, {"Retry-After": str(refuse.retry_after_s)})


class Forwarder:
    """One aiohttp session per worker for forwarded queries; `count(outcome)` per forward. An
    https owner's certificate is verified with `ssl_context` (floor/tls.py `peer_context`;
    None: aiohttp's default, the system's trust store)."""

    def __init__(self, own_url: str, timeout_s: float, count: Callable[[str], None] = lambda outcome: None,
                 ssl_context: ssl.SSLContext | None = None, peer_secret: SecretStr | None = None) -> None:
        self.own_url, self.timeout_s, self._count, self._ssl = own_url, timeout_s, count, ssl_context
        self._peer = peer_secret  # set: the owner gets it instead of the caller's Authorization
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256, ssl=self._ssl or True))
        return self._session

    async def send(self, method: str, url: str, path_qs: str, body: bytes, headers: Mapping[str, str],
                   extra_s: float = 0.0) -> web.Response | Refuse:
        """The owner's answer, or why there is none (`extra_s`: the request's own wait)."""
        sent_on = SENT_ON if self._peer is None else ("Content-Type",)
        out = {name: headers[name] for name in sent_on if name in headers}
        out[FORWARDED] = self.own_url
        if self._peer is not None:
            out[PEER] = self._peer.get_secret_value()
        try:
            async with self._client().request(
                method, url.rstrip("/") + path_qs, data=body or None, headers=out, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s + extra_s),
            ) as response:
                payload = await response.read()
                back = {name: response.headers[name] for name in PASSED_BACK if name in response.headers}
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            outcome = "timeout" if isinstance(exc, asyncio.TimeoutError) else "unreachable"
            self._count(outcome)
            return Refuse("owner_unreachable", f"the key's owner {url} did not answer ({type(exc).__name__}); "
                          "it may have stopped: retry shortly")
        self._count("answered")
        return web.Response(status=status, body=payload, headers=back)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class Router:
    """Routes one request for a key of a table: `view_of(table)` is this worker's view now."""

    def __init__(self, view_of: Callable[[str], WorkerView], partitions: int, forwarder: Forwarder,
                 on_refused: Callable[[str], None] = lambda reason: None,
                 freshness: Freshness | None = None) -> None:
        self.view_of, self.partitions, self.forwarder, self._on_refused = view_of, partitions, forwarder, on_refused
        self.freshness = freshness  # what a local answer says of its freshness (streams/api/freshness.py)

    async def answer(self, request: web.Request, table: str, key: str,
                     local: Callable[[int], Awaitable[web.Response]], extra_s: float = 0.0) -> web.Response:
        """`local(partition)` answers from this worker's store; else forward once, or refuse."""
        decision = route(self.view_of(table), partition_for(key, self.partitions), forwarded=FORWARDED in request.headers)
        if isinstance(decision, Local):
            answer = await local(decision.partition)
            if self.freshness is not None:  # as of this worker's position
                answer.headers.update(self.freshness.headers(decision.partition))
            return answer
        if isinstance(decision, Forward):
            answer = await self.forwarder.send(request.method, decision.url, request.path_qs, await request.read(),
                                               request.headers, extra_s)
            if not isinstance(answer, Refuse):
                return answer
            decision = answer
        return self.refuse(decision)

    def refuse(self, refuse: Refuse) -> web.Response:
        self._on_refused(refuse.reason)
        return refusal(refuse)

    def still_local(self, table: str, partition: int) -> Refuse | None:
        """After a wait: None if this worker still answers `partition` locally, else why not."""
        decision = route(self.view_of(table), partition, forwarded=True)
        return None if isinstance(decision, Local) else decision  # type: ignore[return-value]
