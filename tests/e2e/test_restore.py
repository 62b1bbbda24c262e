"""A worker on an empty disk restores its tables from the changelogs in bulk
(streams/kafka/seam/faust_restore.py), with the product's defaults: every state it answers
afterwards is the one it had, and the changelogs, projections and API agree with a replay."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
import pytest

from floor.kafka.names import store_dir
from hooklog.dev.simulate import Delivery, koywe_payload, lifecycle, signed_body
from streams.ops.verify import verify
from tests.kafka_fixtures import SECRET, System, api_headers, caught_up

pytestmark = pytest.mark.kafka
T0 = datetime(2026, 3, 20, 10, tzinfo=UTC)


async def test_a_worker_on_an_empty_disk_restores_every_state_in_bulk(
        own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system()
    settings = system.settings
    created = [Delivery(f"ord-{i}", "payment_created",
                        signed_body(koywe_payload("payment_created", f"ord-{i}", T0 + timedelta(seconds=i)), SECRET))
               for i in range(3000)]  # 3,000 keys: more changelog records than the bulk restore's minimum
    full = [d for kind in ("onramp", "peru-wire", "offramp") for d in lifecycle(kind, SECRET, start=T0)]
    await system.send([*created, *full])
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        await caught_up(session, system, 120)
    system.stop("worker")
    shutil.rmtree(store_dir(settings))  # a new machine: no RocksDB, no standby

    system.start("worker")
    log = [orjson.loads(line) for line in system.log_text("worker").splitlines() if '"restored_in_bulk"' in line]
    assert log and log[-1]["complete"] is True and log[-1]["records"] >= 3000, log
    report = await verify(settings, wait_s=60, api_url=system.worker_url, changelogs=True)
    assert report.differences == [], report.differences[:5]
    assert report.compared[f"{system.worker_url} orders"] == 3003
