"""End-to-end latency: POST /webhooks/koywe -> the event visible in GET /orders/{id}, at 1k/s.

`hooklog ingest` and `hooklog worker` run as children on a fresh prefix; the load generator
(a separate process) sends whole onramp lifecycles at a fixed rate (open loop) and, for every
`sample_every`-th event, asks the worker `GET /orders/{id}?delivery=<its id>&wait=10`, which
answers once that delivery is folded and its batch's records acked (streams/worker/waiters.py; polling
every 2 ms, as before, loaded the worker with GETs and added the poll interval to each figure).
Latencies count from the scheduled send time. No baseline exists
for this figure; the POST-only latency (acked by Kafka) is reported beside it. A second, lower
rate (default 250/s) shows the path's latency when the worker is not saturated.
Target: p99 < 50 ms at 1k/s.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import Any

import orjson

from bench.common import API_TOKEN, CpuMeter, bench_run, broker_pid, wait_http
from bench.dataset import lifecycle_bodies
from bench.loadgen import finish_loadgen, spawn_loadgen, write_bodies
from bench.report import Baseline, BenchResult, Figure
from bench.targets import LATENCY_P99_MS, TARGETS
from floor.kafka.topics import ensure_topics


def _warm_up(ingest_url: str, worker_url: str, body: bytes, order_id: str, timeout_s: float = 60) -> None:
    """One event through the whole path, so partitions are assigned before measuring."""
    request = urllib.request.Request(f"{ingest_url}/webhooks/koywe", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        delivery = orjson.loads(response.read())["id"]
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        get = urllib.request.Request(f"{worker_url}/orders/{order_id}?delivery={delivery}&wait={min(30, left):.0f}",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"})
        try:
            with urllib.request.urlopen(get, timeout=35) as response:
                return
        except OSError:  # not folded yet (404) or the worker still starting
            time.sleep(0.1)
    raise RuntimeError(f"the warm-up event did not show in {worker_url}/orders/{order_id} within {timeout_s:.0f}s")


def measure_rate(rate: float, duration_s: float, sample_every: int, concurrency: int) -> dict[str, Any]:
    """Fresh ingest + worker; fixed-rate load for `duration_s` after 2 s of warm-up load."""
    events = int(rate * (duration_s + 2)) + 8
    with bench_run() as (settings, children, workdir):
        secret = settings.koywe_secret_list[0].get_secret_value()
        warm, *bodies = lifecycle_bodies(settings.topic_prefix, events // 4 + 2, secret, kinds=("onramp",))
        bodies_file = write_bodies(workdir / "bodies.tsv", [(b.order_id, b.body) for b in bodies[:events]])
        asyncio.run(ensure_topics(settings, timeout_s=30))
        ingest = children.role(settings, "ingest")
        worker = children.role(settings, "worker")
        ingest_url, worker_url = f"http://127.0.0.1:{settings.ingest_port}", f"http://127.0.0.1:{settings.worker_port}"
        wait_http(f"{ingest_url}/readyz", 30, ingest)
        try:
            _warm_up(ingest_url, worker_url, warm.body, warm.order_id)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- worker log ---\n{children.log_tail('worker')}") from None
        proc = spawn_loadgen(f"{ingest_url}/webhooks/koywe", bodies_file, duration_s=duration_s,
                             concurrency=concurrency, rate=rate, track=worker_url, sample_every=sample_every,
                             warmup_s=2.0, token=API_TOKEN)
        meter = CpuMeter({"ingest": ingest.pid, "worker": worker.pid,
                          "broker": broker_pid()}).start()
        measured = finish_loadgen(proc, timeout_s=duration_s + 120)
        measured["cores"] = meter.stop()
        if worker.poll() is not None:
            raise RuntimeError(f"the worker died under load\n{children.log_tail('worker')}")
    if not measured["e2e_ms"]:
        raise RuntimeError(f"no latency sample was taken: {measured}")
    return measured


def run_latency(*, rates: tuple[float, ...] = (1000.0, 250.0), duration_s: float = 15.0,
                sample_every: int = 10, concurrency: int = 64) -> BenchResult:
    """p50/p99 at each rate (the first is the target's 1k/s), each on fresh processes."""
    started = time.perf_counter()
    runs = {r: measure_rate(r, duration_s, sample_every, concurrency) for r in rates}
    figures = []
    for i, (r, measured) in enumerate(runs.items()):
        e2e, post = measured["e2e_ms"], measured["post_ms"]
        note = (f"{e2e['n']} sampled events over {duration_s:.0f} s; achieved {measured['accepted_per_s']:.0f}/s, "
                f"errors {measured['errors'] or 0}, late sends {measured['late_sends']}, "
                f"visibility timeouts (10 s) {measured['e2e_timeouts']}; cores used {measured['cores']}")
        common = {"bench": "latency", "unit": "ms"}
        figures += [
            Figure(name=f"POST → visible in GET /orders/{{id}} at {r:.0f}/s, p50", value=e2e["p50"],
                   baselines=[Baseline("POST acked (acks=all), p50", post["p50"])], target="—", **common),
            Figure(name=f"POST → visible in GET /orders/{{id}} at {r:.0f}/s, p99", value=e2e["p99"],
                   baselines=[Baseline("POST acked (acks=all), p99", post["p99"])],
                   target=TARGETS["latency"].text if i == 0 else "— (context)",
                   met=(e2e["p99"] < LATENCY_P99_MS and not measured["e2e_timeouts"]) if i == 0 else None, note=note, **common),
        ]
    return BenchResult(name="latency", figures=figures,
                       params={"rates": list(rates), "duration_s": duration_s, "sample_every": sample_every},
                       detail={f"{r:.0f}/s": m for r, m in runs.items()}, elapsed_s=time.perf_counter() - started)
