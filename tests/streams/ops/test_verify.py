"""`hooklog verify`: the field-by-field comparison (pure) and live topics vs a replay (broker)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from hooklog.dev.simulate import lifecycle
from schemas.envelope import Envelope, encode_envelope
from streams.ops.verify import (
    ABSENT,
    PRESENT,
    Difference,
    VerifyError,
    compare_states,
    diff_values,
    missing_ids,
    read_api,
    retry_after_s,
    verify,
)
from tests.conftest import T0
from tests.kafka_fixtures import REPO, SECRET, System, hooklog, settings_env


def entry(event_id: str, status: str) -> dict[str, object]:
    return {"eventId": event_id, "status": status, "receivedAt": "2026-03-20T10:00:00Z"}


@pytest.mark.unit
def test_differences_name_the_field_and_both_values() -> None:
    live = {"state": "PENDING", "history": [entry("a", "WAITING"), entry("b", "PENDING")], "adjustment": None}
    replay = {"state": "DELIVERED", "history": [entry("a", "WAITING"), entry("b", "PENDING"), entry("c", "DELIVERED")],
              "adjustment": None}
    assert list(diff_values(live, replay)) == [
        ("history[eventId=c]", ABSENT, entry("c", "DELIVERED")),
        ("state", "PENDING", "DELIVERED"),
    ]
    assert list(diff_values({"h": [entry("a", "X"), entry("b", "Y")]}, {"h": [entry("b", "Y"), entry("a", "X")]})) == [
        ("h[order]", ["a", "b"], ["b", "a"]),
    ]
    assert list(diff_values({"n": [1, 2]}, {"n": [1]})) == [("n[1]", 2, ABSENT)]
    assert list(diff_values({"x": 1}, {"x": True})) == [("x", 1, True)]
    assert list(diff_values({"x": 1.0}, {"x": 1})) == []  # numbers compare as numbers


@pytest.mark.unit
def test_states_are_compared_semantically_per_aggregate() -> None:
    state = {"orderId": "o-1", "state": "WAITING", "updatedAt": "2026-03-20T10:00:00Z", "history": [], "adjustment": None}
    respelled = orjson.dumps({**state, "updatedAt": "2026-03-20T10:00:00+00:00"})  # same instant, other spelling
    assert compare_states("orders", {"o-1": respelled}, {"o-1": orjson.dumps(state)}) == []
    diffs = compare_states("orders", {"o-1": orjson.dumps({**state, "state": "PENDING"}), "o-2": b"{}"},
                           {"o-1": orjson.dumps(state), "o-3": orjson.dumps(state)})
    assert diffs == [
        Difference("orders", "o-1", "state", "PENDING", "WAITING"),
        Difference("orders", "o-2", "<state>", PRESENT, ABSENT),
        Difference("orders", "o-3", "<state>", ABSENT, PRESENT),
    ]
    assert str(diffs[0]) == 'orders\to-1\tstate\tlive="PENDING"\treplay="WAITING"'
    assert missing_ids("alerts", {"a1", "old"}, {"a1": "o-1", "a2": "o-2"}) == [
        Difference("alerts", "o-2", "id=a2", ABSENT, PRESENT)
    ]


@pytest.mark.kafka
async def test_verify_is_clean_on_a_healthy_system_and_reports_tampering(own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system()
    settings = system.settings
    plans = [lifecycle(kind, SECRET, start=T0) for kind in ("onramp", "peru-wire", "offramp-corrected")]
    await system.send([d for plan in plans for d in plan])
    report = await verify(settings, wait_s=60, api_url=system.worker_url)
    assert report.differences == [] and report.lag is not None  # commits trail by up to a second
    assert report.compared[settings.topic("orders")] == 3 and report.compared[f"{system.worker_url} orders"] == 3
    clean = hooklog(settings, "verify", "--api", "--wait", "5")
    assert clean.returncode == 0 and "no differences" in clean.stderr, clean.stderr

    victim = plans[1][0].order_id  # downstream's topic says something the log does not
    state = orjson.loads((await verify(settings, wait_s=0)).replayed.state_json()["orders"][victim])
    state["history"][1]["status"] = "IN_PROGRESS"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    await producer.send_and_wait(settings.topic("orders"), orjson.dumps(state), key=victim.encode())
    await producer.stop()
    dirty = hooklog(settings, "verify", "--wait", "1")
    assert dirty.returncode == 1
    (line,) = dirty.stdout.splitlines()
    event_id = state["history"][1]["eventId"]
    assert line == f'orders\t{victim}\thistory[eventId={event_id}].status\tlive="IN_PROGRESS"\treplay="PENDING"'
    assert "1 difference(s) in 1 aggregate(s)" in dirty.stderr

    # a stopped worker is a stale projection: reported, with the lag, once the wait is over
    system.stop("worker")
    late = lifecycle("onramp", SECRET, start=T0)
    await system.send(late)
    stale = await verify(settings, wait_s=2)
    assert {d.aggregate for d in stale.differences} == {victim, late[0].order_id} and stale.rounds >= 2
    assert stale.lag == len(late)


@pytest.mark.kafka
async def test_a_persistent_difference_is_reported_and_verify_exits_1_within_its_wait(
        own_topics: None, make_settings: Callable[..., Settings], koywe_envelope: Callable[..., Envelope]) -> None:
    """Many catch-up passes over a log that never changes: verify used to hang in the replay
    consumer's stop() (floor/seam/aiokafka_consumer.py) instead of reporting."""
    settings = make_settings()
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for order in ("o-1", "o-2"):
            await producer.send_and_wait(settings.topic("raw"), encode_envelope(koywe_envelope("payment_created", order)),
                                         key=order.encode())
        replayed = (await verify(settings, wait_s=0)).replayed.state_json()["orders"]
        await producer.send_and_wait(settings.topic("orders"), replayed["o-1"], key=b"o-1")
        wrong = {**orjson.loads(replayed["o-2"]), "state": "DELIVERED"}  # folded, then overwritten
        await producer.send_and_wait(settings.topic("orders"), orjson.dumps(wrong), key=b"o-2")
    finally:
        await producer.stop()
    wait_s = 8
    try:  # the timeout detects a hang; it is no speed target
        done = subprocess.run([sys.executable, "-m", "hooklog.cli", "verify", "--wait", str(wait_s)],
                              env=settings_env(settings), cwd=REPO, capture_output=True, text=True,
                              timeout=wait_s + 120)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"verify --wait {wait_s} hung: {exc.stderr!r}") from exc
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == ['orders\to-2\tstate\tlive="DELIVERED"\treplay="WAITING"'], done.stdout
    assert "1 difference(s) in 1 aggregate(s)" in " ".join(done.stderr.split())


@pytest.fixture
async def flaky_api() -> Any:
    """A real HTTP server answering the orders path: 503 + Retry-After for the first `busy`
    requests of a key, then the state (200); `seen` counts the requests."""
    calls: dict[str, int] = {}
    busy = {"n": 2}

    async def order(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        calls[key] = calls.get(key, 0) + 1
        if calls[key] <= busy["n"]:
            return web.json_response({"error": "rebalancing"}, status=503, headers={"Retry-After": "0"})
        if key == "gone":
            return web.json_response({"error": "not_found"}, status=404)
        return web.Response(body=b'{"state":"WAITING"}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/orders/{key}", order)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS chose
    try:
        yield f"http://127.0.0.1:{port}", calls, busy
    finally:
        await runner.cleanup()


@pytest.mark.unit
async def test_the_api_read_waits_out_503s_and_names_a_persistent_one(flaky_api: Any) -> None:
    url, calls, busy = flaky_api
    settings = Settings(api_tokens="t")
    assert await read_api(settings, url, "orders", {"o-1", "gone"}) == {"o-1": b'{"state":"WAITING"}', "gone": None}
    assert calls == {"o-1": 3, "gone": 3}  # two 503s each, then the answer
    busy["n"] = 10**6
    with pytest.raises(VerifyError, match=r"answered 503 .*rebalancing.* for 0.3 s"):
        await read_api(settings, url, "orders", {"o-2"}, retry_s=0.3)
    assert calls["o-2"] >= 2


@pytest.mark.unit
def test_retry_after_is_read_in_seconds_and_capped() -> None:
    assert retry_after_s("2") == 2.0
    assert retry_after_s("3600") == 5.0
    assert retry_after_s(None) == 1.0
    assert retry_after_s("Wed, 21 Oct 2026 07:28:00 GMT") == 1.0
