"""The console's cross-partition pages with 2 workers (ingest + 2 `hooklog worker` processes, 4
partitions, real broker): the stuck-orders list and the order counts cover every partition on
each worker, the same rows in the same order through every page; with one worker killed (-9)
they answer 503 until the survivor has taken its partitions over, never a shorter list.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape

import aiohttp
import orjson
import pytest

from floor.kafka.partitioning import partition_for
from hooklog.dev.simulate import koywe_payload, post, signed_body
from schemas.orders import OrderStatus
from tests.kafka_fixtures import API_TOKEN, SECRET, System, api_headers, owned_by, ready_views, until

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]
PARTITIONS, ORDERS, PAGE = 4, 40, 7
ROW = re.compile(r'<tr><td><a href="/console/orders/([^"]+)">')
OLDER = re.compile(r'<a href="([^"]+)">older →</a>')
COUNT = re.compile(r'<td><a href="/console/orders\?state=(\w+)&amp;older_than=0s">\w+</a></td><td class="num">(\d+)</td>')


def plan(now: datetime) -> tuple[list[bytes], dict[str, tuple[str, datetime]]]:
    """Deliveries and each order's (final state, updatedAt): WAITING and PENDING, most of them more
    than an hour old, a few recent; pairs share a time, so the order id breaks ties."""
    bodies, truth = [], {}
    for i in range(ORDERS):
        order_id = f"stuck-{i:03d}-{time.time_ns() % 10**6:06d}"
        created = now - (timedelta(minutes=2 + i) if i % 10 == 9 else timedelta(hours=2, minutes=i // 2))
        bodies.append(signed_body(koywe_payload("payment_created", order_id, created), SECRET))
        truth[order_id] = ("WAITING", created)
        if i % 3 == 0:
            received = created + timedelta(seconds=30)
            bodies.append(signed_body(koywe_payload("payment_received", order_id, received), SECRET))
            truth[order_id] = ("PENDING", received)
    return bodies, truth


def stuck(truth: dict[str, tuple[str, datetime]], state: str, before: datetime) -> list[str]:
    rows = [(at, order_id) for order_id, (s, at) in truth.items() if s == state and at < before]
    return [order_id for _, order_id in sorted(rows, reverse=True)]


async def folded(session: aiohttp.ClientSession, url: str, truth: dict[str, tuple[str, datetime]]) -> bool:
    for order_id, (state, _) in truth.items():
        async with session.get(f"{url}/orders/{order_id}", headers=api_headers()) as response:
            if response.status != 200 or orjson.loads(await response.read())["state"] != state:
                return False
    return True


async def console(url: str) -> aiohttp.ClientSession:
    """A session logged in through the console's form (the cookie jar accepts an IP host)."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=30))
    async with session.post(f"{url}/console/login", data={"token": API_TOKEN, "next": "/console/"},
                            allow_redirects=False) as response:
        assert response.status == 303, await response.text()
    return session


async def stuck_list(session: aiohttp.ClientSession, url: str, state: str) -> tuple[int, list[str], str]:
    """Every page of `state` older than 1 h (following "older →"): (status, order ids, last text)."""
    path, ids = f"/console/orders?state={state}&older_than=1h&size={PAGE}", []
    while True:
        async with session.get(f"{url}{path}", allow_redirects=False) as response:
            text = await response.text()
            if response.status != 200:
                assert response.status != 503 or "Retry-After" in response.headers
                return response.status, ids, text
        ids += ROW.findall(text)
        more = OLDER.search(text)
        if more is None:
            return 200, ids, text
        path = unescape(more.group(1))


async def counts(session: aiohttp.ClientSession, url: str) -> tuple[dict[str, int] | None, str]:
    async with session.get(f"{url}/console/", allow_redirects=False) as response:
        text = await response.text()
    found = {state: int(n) for state, n in COUNT.findall(text)}
    return (found or None), text


async def test_stuck_orders_and_counts_cover_every_worker_and_refuse_while_one_is_dead(
        own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system(workers=2, partitions=PARTITIONS)
    urls = [system.url_of("w0"), system.url_of("w1")]
    now = datetime.now(UTC).replace(microsecond=0)
    bodies, truth = plan(now)
    api = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    sessions = [await console(url) for url in urls]
    try:
        for body in bodies:
            assert (await post(api, f"{system.ingest_url}/webhooks/koywe", body))[0] == 200
        views = await until(lambda: ready_views(api, urls), 120, "both workers ready")
        on = {url: {o for o in truth if partition_for(o, PARTITIONS) in owned_by(views, url)} for url in urls}
        assert all(on.values()), on  # stuck orders on partitions of both workers
        await until(lambda: folded(api, urls[0], truth), 120, "every order folded")

        # the internal view: behind the API token, this worker's active partitions only
        async with api.get(f"{urls[1]}/internal/console/counts") as response:
            assert response.status == 401
        async with api.get(f"{urls[1]}/internal/console/counts", headers=api_headers()) as response:
            doc = orjson.loads(await response.read())
            assert doc["partitions"] == sorted(owned_by(views, urls[1]))
            assert sum(doc["counts"].values()) == len(on[urls[1]])

        before = now - timedelta(hours=1)  # the page's bound is later (it asks "older than 1 h" now)
        want = {state: stuck(truth, state, before) for state in ("WAITING", "PENDING")}
        tally = Counter(state for state, _ in truth.values())
        want_counts = {s.value: tally[s.value] for s in OrderStatus}
        for url, session in zip(urls, sessions, strict=True):
            for state, ids in want.items():
                status, got, text = await stuck_list(session, url, state)
                assert status == 200, text
                assert got == ids, (url, state)  # every stuck order once, newest first, the same on both
                assert len(ids) > PAGE  # several pages, each merged from both workers
            got_counts, text = await counts(session, url)
            assert got_counts == want_counts, text
            assert all(u in text for u in urls)  # the health section lists both workers
        print(f"\n{len(truth)} orders on partitions of both workers; stuck lists {({s: len(i) for s, i in want.items()})}"
              f" and counts {want_counts} the same on both")

        # kill -9 one worker: the survivor's console answers 503, never a shorter list, then complete again
        killed_at = time.monotonic()
        assert system.stop("w1", signal.SIGKILL) == -signal.SIGKILL
        seen: Counter[str] = Counter()

        async def complete_again() -> bool:
            status, got, text = await stuck_list(sessions[0], urls[0], "WAITING")
            seen[str(status)] += 1
            if status == 200:
                assert got == want["WAITING"], f"a 200 with {len(got)} of {len(want['WAITING'])} orders"
                got_counts, text = await counts(sessions[0], urls[0])
                return got_counts == want_counts
            assert status == 503 and "Not available right now" in text, text
            return False

        await until(complete_again, 90, "the survivor's stuck-orders page complete again")
        print(f"kill -9 of one of 2 workers: the survivor's stuck-orders page answered {dict(seen)}, "
              f"complete again after {time.monotonic() - killed_at:.1f} s")
        assert seen["503"] > 0  # refused while the dead worker still held partitions
    finally:
        for session in [api, *sessions]:
            await session.close()
