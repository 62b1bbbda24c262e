"""`hooklog notify` alone (streams/notify/standalone.py), as users run it beside workers started
with `HOOKLOG_NOTIFY_IN_WORKER=false`: it delivers each lifecycle change the workers fold, signed
and once per change id, the workers deliver nothing themselves, `/healthz` and `/metrics` answer
on its own port, SIGTERM ends it cleanly, and without a sink it refuses to start."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from floor.settings import Settings
from hooklog.dev.probes import wait_http
from hooklog.dev.simulate import koywe_payload, post, signed_body
from tests.kafka_fixtures import (
    REPO, SECRET, System, free_port, hooklog, metrics_of, samples, settings_env, until,
)
from tests.notify_factories import verified, webhook

pytestmark = pytest.mark.kafka


async def test_notify_alone_delivers_what_the_workers_fold_and_the_workers_deliver_nothing(
        run_system: Callable[..., System], receivers: Callable[..., Any], tmp_path: Path) -> None:
    sink = await receivers("ok")
    system = run_system(notify=orjson.dumps([webhook("ops", sink)]).decode(), notify_in_worker=False)
    port = free_port()
    with open(tmp_path / "notify.log", "wb") as log:
        notify = subprocess.Popen([sys.executable, "-m", "hooklog.cli", "notify", "--port", str(port)],
                                  env=settings_env(system.settings), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_http, f"{url}/healthz", 60, notify)
        async with aiohttp.ClientSession() as session:
            body = signed_body(koywe_payload("crypto_tx_failed", "ord-alone", datetime(2026, 3, 20, 10, tzinfo=UTC)),
                               SECRET)
            assert (await post(session, f"{system.ingest_url}/webhooks/koywe", body))[0] == 200

            async def opened() -> list[dict[str, Any]]:
                return [d for d in verified(sink) if d["type"] == "alert.open"]

            (delivery,) = await until(opened, 90, "the open alert delivered by hooklog notify")
            assert delivery["data"]["alert"]["aggregateId"] == "ord-alone", delivery
            assert delivery["id"] == delivery["data"]["change"]["id"]
            async with session.get(f"{url}/healthz") as health:
                assert health.status == 200 and len((await health.json())["sinks"]) == 1
            delivered = samples(await metrics_of(session, url), "hooklog_notify_deliveries_total")
            assert list(delivered.values()) == [1.0] and 'sink="ops"' in next(iter(delivered)), delivered
            in_worker = samples(await metrics_of(session, system.worker_url), "hooklog_notify_deliveries_total")
            assert in_worker == {}, in_worker  # the worker's notifiers are off
        assert len({headers["webhook-id"] for headers, _ in sink.accepted}) == len(sink.accepted) == 1
    finally:
        notify.terminate()
        code = await asyncio.to_thread(notify.wait, 30)
    assert code == 0, (tmp_path / "notify.log").read_text()[-2000:]


def test_notify_without_a_sink_refuses_to_start(make_settings: Callable[..., Settings]) -> None:
    done = hooklog(make_settings(notify="[]"), "notify", "--port", str(free_port()))
    assert done.returncode != 0 and "HOOKLOG_NOTIFY names no sink" in done.stderr, done.stderr[-2000:]
