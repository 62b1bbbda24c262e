"""Forwarding on real aiohttp servers (127.0.0.1): one hop at most, what goes and comes back."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr
from aiohttp.test_utils import TestServer

from streams.api.access import PEER
from streams.api.forward import FORWARDED, Forwarder, Router
from streams.api.routing import WorkerView
from tests.kafka_fixtures import free_port

pytestmark = pytest.mark.unit
PARTITIONS = 4


class Node:
    """One worker's HTTP shell: a Router over a fixed view; `local` answers what it owns."""

    def __init__(self, name: str, timeout_s: float = 5.0, peer_secret: SecretStr | None = None) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.active: frozenset[int] = frozenset()
        self.owners: dict[int, str] = {}
        self.seen: list[dict[str, str]] = []
        self.outcomes: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.local_status, self.local_headers, self.local_delay_s = 200, {}, 0.0
        forwarder = Forwarder(self.url, timeout_s, lambda outcome: self.outcomes.update([outcome]),
                              peer_secret=peer_secret)
        self.router = Router(self.view, PARTITIONS, forwarder, lambda reason: self.refused.update([reason]))

    def view(self, table: str) -> WorkerView:
        return WorkerView("ready", self.url, self.active, self.owners, PARTITIONS)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append({**request.headers, "body": body.decode(), "path_qs": request.path_qs})

        async def local(partition: int) -> web.Response:
            await asyncio.sleep(self.local_delay_s)
            return web.Response(status=self.local_status, headers=self.local_headers,
                                body=orjson.dumps({"by": self.name, "partition": partition}),
                                content_type="application/json")

        return await self.router.answer(request, "orders", request.match_info["key"], local)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/orders/{key}", self.handle)
        return app


@pytest.fixture
async def nodes() -> AsyncIterator[Callable[..., Node]]:
    servers: list[tuple[TestServer, Node]] = []

    async def start(name: str, **kwargs: Any) -> Node:
        node = Node(name, **kwargs)
        server = TestServer(node.app(), host="127.0.0.1", port=node.port)
        await server.start_server()
        servers.append((server, node))
        return node

    yield start  # type: ignore[misc]
    for server, node in servers:
        await node.router.forwarder.close()
        await server.close()


async def get(url: str, **kwargs: object) -> tuple[int, dict, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.request(kwargs.pop("method", "GET"), url, **kwargs) as r:  # type: ignore[arg-type]
        return r.status, orjson.loads(await r.read()), dict(r.headers)


async def test_the_forwarded_header_stops_a_second_hop(nodes: Callable[..., Node]) -> None:
    """Two workers each believing the other owns every partition (a stale assignment): the
    request goes A -> B once, B refuses it, A passes the 503 back. Without the header rule it
    would bounce between them until a timeout."""
    a, b = await nodes("a"), await nodes("b")
    a.owners = {p: b.url for p in range(PARTITIONS)}
    b.owners = {p: a.url for p in range(PARTITIONS)}
    status, body, headers = await asyncio.wait_for(get(f"{a.url}/orders/ord-1"), 10)
    assert status == 503 and body["error"] == "not_owner" and headers["Retry-After"] == "1"
    assert len(a.seen) == 1 and len(b.seen) == 1
    assert b.seen[0][FORWARDED] == a.url and FORWARDED not in a.seen[0]
    assert a.outcomes == {"answered": 1} and b.refused == {"not_owner": 1} and not b.outcomes


async def test_the_owner_answers_and_its_status_body_and_headers_come_back(nodes: Callable[..., Node]) -> None:
    a, b = await nodes("a"), await nodes("b")
    b.active = frozenset(range(PARTITIONS))
    a.owners = b.owners = {p: b.url for p in range(PARTITIONS)}
    b.local_status, b.local_headers = 429, {"Retry-After": "7"}
    status, body, headers = await get(f"{a.url}/orders/ord-1?delivery=abc&wait=1", method="POST", data=b'{"q":1}',
                                      headers={"Authorization": "Bearer t0k", "Content-Type": "application/json"})
    assert (status, body["by"], headers["Retry-After"], headers["Content-Type"]) == (429, "b", "7", "application/json")
    sent = b.seen[0]
    assert (sent["Authorization"], sent["body"], sent["path_qs"]) == ("Bearer t0k", '{"q":1}', "/orders/ord-1?delivery=abc&wait=1")
    assert sent["Content-Type"] == "application/json" and sent[FORWARDED] == a.url


async def test_with_a_peer_secret_the_owner_gets_it_and_never_the_callers_token(nodes: Callable[..., Node]) -> None:
    a, b = await nodes("a", peer_secret=SecretStr("peer-secret-of-the-group")), await nodes("b")
    b.active = frozenset(range(PARTITIONS))
    a.owners = b.owners = {p: b.url for p in range(PARTITIONS)}
    status, body, _ = await get(f"{a.url}/orders/ord-1", headers={"Authorization": "Bearer caller-token"})
    assert (status, body["by"]) == (200, "b")
    sent = b.seen[0]
    assert "Authorization" not in sent and sent[PEER] == "peer-secret-of-the-group" and sent[FORWARDED] == a.url


async def test_an_unreachable_or_slow_owner_is_a_503_never_a_404(nodes: Callable[..., Node]) -> None:
    a, slow = await nodes("a", timeout_s=0.3), await nodes("slow")
    a.owners = {p: f"http://127.0.0.1:{free_port()}" for p in range(PARTITIONS)}  # nobody listens there
    status, body, headers = await get(f"{a.url}/orders/ord-1")
    assert (status, body["error"], headers["Retry-After"]) == (503, "owner_unreachable", "1")
    slow.active, slow.local_delay_s = frozenset(range(PARTITIONS)), 3.0
    a.owners = {p: slow.url for p in range(PARTITIONS)}
    status, body, _ = await get(f"{a.url}/orders/ord-1")
    assert (status, body["error"]) == (503, "owner_unreachable")
    assert a.outcomes == {"unreachable": 1, "timeout": 1} and a.refused == {"owner_unreachable": 2}
