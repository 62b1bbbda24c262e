"""Secrets come from a secrets directory (HOOKLOG_SECRETS_DIR) and never leave: the system runs
with known secrets and every log line, every answer (bodies and headers, errors and metrics
included), every record of every topic it wrote and its table files are searched for them.
The same run checks the structured logs: one JSON object per line, with the event id, source
and aggregate id of every stored and folded event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from floor.settings import Settings
from hooklog.dev.simulate import lifecycle, wait_for_state
from ingest.senders.signatures import sign_hmac_hex, signed_koywe_body
from tests.kafka_fixtures import System, caught_up, read_topic

pytestmark = pytest.mark.kafka


def found_in(needles: list[bytes], haystacks: dict[str, bytes]) -> list[tuple[str, str]]:
    return [(where, needle.decode()[:8] + "…") for where, hay in haystacks.items() for needle in needles if needle in hay]


async def all_topic_bytes(settings: Settings) -> dict[str, bytes]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
    finally:
        await admin.close()
    out: dict[str, bytes] = {}
    for topic in topics:
        records = await read_topic(settings.kafka_bootstrap_servers, topic, 30)
        out[f"topic {topic}"] = b"\n".join(
            (r.key or b"") + b"\t" + (r.value or b"") + b"".join(k.encode() + v for k, v in r.headers) for r in records)
    return out


async def test_secrets_from_a_directory_never_reach_logs_answers_metrics_or_topics(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    secrets = {name: f"{name.lower()}-{uuid.uuid4().hex}" for name in
               ("HOOKLOG_KOYWE_SECRETS", "HOOKLOG_KUENTA_SECRETS", "HOOKLOG_API_TOKENS", "HOOKLOG_KOYWE_AUTH_TOKENS")}
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for name, value in secrets.items():
        (secrets_dir / name).write_text(value + "\n")
    # nothing secret in the environment; debug level: per-event lines are searched for secrets too
    settings = make_settings(koywe_secrets=None, api_tokens=None, log_level="debug")
    system = System(settings, tmp_path)
    system.env_overrides["HOOKLOG_SECRETS_DIR"] = str(secrets_dir)
    koywe, kuenta = secrets["HOOKLOG_KOYWE_SECRETS"], secrets["HOOKLOG_KUENTA_SECRETS"]
    api = {"Authorization": f"Bearer {secrets['HOOKLOG_API_TOKENS']}"}
    callback = {"Authorization": f"Bearer {secrets['HOOKLOG_KOYWE_AUTH_TOKENS']}"}
    json = {"Content-Type": "application/json"}
    plan = lifecycle("peru-wire", koywe, start=datetime(2026, 3, 20, tzinfo=UTC))
    kuenta_body = orjson.dumps({"event": "credit.disbursed", "data": {"id": "cr-1", "amount": 5}, "timestamp": "2026-03-20T10:00:00Z"})
    answers: list[bytes] = []
    acked: list[str] = []
    try:
        system.start("ingest")
        system.start("worker")
        async with aiohttp.ClientSession() as session:
            async def call(method: str, url: str, **kwargs: object) -> int:
                async with session.request(method, url, **kwargs) as response:  # type: ignore[arg-type]
                    body = await response.read()
                    answers.append(body + b"".join(f"{k}: {v}".encode() for k, v in response.headers.items()))
                    if response.status == 200 and b'"stored"' in body:
                        acked.append(orjson.loads(body)["id"])
                    return response.status

            ingest, worker = system.ingest_url, system.worker_url
            for delivery in plan:
                assert await call("POST", f"{ingest}/webhooks/koywe", data=delivery.body, headers=json) == 200
            assert await call("POST", f"{ingest}/webhooks/koywe", data=signed_koywe_body(b'{"eventName":"payment_created","orderId":"o"}', "guess"), headers=json) == 401
            assert await call("POST", f"{ingest}/webhooks/kuenta", data=kuenta_body,
                              headers={**json, "X-Signature": sign_hmac_hex(kuenta_body, kuenta)}) == 200
            assert await call("POST", f"{ingest}/webhooks/kuenta", data=kuenta_body, headers={**json, "X-Signature": "00"}) == 401
            for path in ("/healthz", "/readyz", "/metrics", "/nope"):
                await call("GET", ingest + path)
            await call("DELETE", f"{ingest}/webhooks/koywe")
            state = await wait_for_state(session, worker, plan[0].order_id, "DELIVERED", token=secrets["HOOKLOG_API_TOKENS"],
                                         events=len(plan))
            assert state is not None and len(state["history"]) == len(plan)
            assert await call("GET", f"{worker}/orders/{plan[0].order_id}") == 401
            assert await call("GET", f"{worker}/orders/{plan[0].order_id}", headers=api) == 200
            for path in ("/alerts", "/dlq", "/kuenta/credit/cr-1"):
                await call("GET", worker + path, headers=api)
            assert await call("POST", f"{worker}/auth/koywe", json={"email": "a@b.c"}, headers=callback) == 200
            assert await call("POST", f"{worker}/auth/koywe", json={"email": "a@b.c"}, headers=api) == 401
            for path in ("/healthz", "/metrics", "/", "/nope"):
                await call("GET", worker + path)
            await caught_up(session, system)  # the worker has logged, published and committed what it folded
    finally:
        codes = {role: system.stop(role) for role in list(system.procs)}
    assert codes == {"ingest": 0, "worker": 0}

    needles = [v.encode() for v in secrets.values()]
    haystacks = {f"{role} log": (tmp_path / f"{role}.log").read_bytes() for role in ("ingest", "worker")}
    haystacks |= {f"answer {i}": a for i, a in enumerate(answers)}
    haystacks |= await all_topic_bytes(settings)
    haystacks |= {f"file {p}": p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()}
    assert found_in(needles, {"the secrets dir itself": b"".join(p.read_bytes() for p in secrets_dir.iterdir())})  # the search works
    assert len([h for h in haystacks if h.startswith("topic ")]) >= 5 and len(answers) >= 20
    assert found_in(needles, haystacks) == []

    lines = {role: [orjson.loads(line) for line in (tmp_path / f"{role}.log").read_bytes().splitlines() if line.strip()]
             for role in ("ingest", "worker")}  # every line is one JSON object
    stored = {e["event_id"]: e for e in lines["ingest"] if e["event"] == "stored"}
    folded = {e["event_id"]: e for e in lines["worker"] if e["event"] == "folded"}
    assert set(stored) == set(acked) and set(folded) == set(acked)
    for entry in [*stored.values(), *folded.values()]:
        assert entry["source"] in {"koywe", "kuenta"} and entry["aggregate_id"] and entry["level"] in {"info", "debug"} and entry["ts"]
    assert {e["aggregate_id"] for e in folded.values()} == {plan[0].order_id, "cr-1"}
    assert any(e["event"] == "refused" and e["error"] == "bad_signature" for e in lines["ingest"])
