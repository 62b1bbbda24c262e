"""CPU µs per request of each stage of ingest's request path, on real signed Koywe bodies.

    python -m bench.ingest_stages [--bodies 2000] [--rounds 5]

Each stage runs in a plain loop over the same bodies (its inputs prepared by the stages before
it, outside its timing), in interleaved rounds (bench/fair.py); the table gives the median µs
per call. This is the in-process half of the breakdown: what aiohttp (HTTP parsing, routing,
the response write) and aiokafka (the send and its ack) cost is only seen under load, so
bench/PROPOSED_CHANGES.md puts these figures beside the shares of a py-spy profile of
`hooklog ingest` under `bench ingest`. No broker, no network.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from bench.common import SECRET
from bench.dataset import lifecycle_bodies
from bench.fair import interleave, median
from bench.machine import machine
from floor.logs import LineLogger, configure_logging
from floor.settings import Settings
from ingest.gateway.app import kept_headers
from ingest.gateway.limits import content_type_ok, too_deep
from ingest.gateway.metrics import IngestMetrics
from ingest.gateway.producer import key_partitioner
from floor.ratelimit import TokenBucket
from ingest.senders.sources import koywe_source
from schemas.envelope import encode_envelope, new_envelope, utcnow
from schemas.jsonbody import load_object

HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json", "User-Agent": "wrk", "Host": "x"}))


def stages(bodies: list[bytes]) -> dict[str, Callable[[], Any]]:
    """Each stage as a loop over every body; inputs built here, before any timing."""
    settings = Settings(koywe_secrets=SECRET)
    source = koywe_source(settings.koywe_secret_list)
    docs = [load_object(b) for b in bodies]
    routes = [source.route(d, HEADERS) for d in docs]
    now = utcnow()
    envelopes = [new_envelope(source="koywe", key=r.key, event_name=r.event_name, body=b, received_at=now,
                              headers=kept_headers(HEADERS, source)) for b, r in zip(bodies, routes)]
    keys = [e.key.encode() for e in envelopes]
    partitions = list(range(settings.partitions))
    metrics = IngestMetrics()
    bucket = TokenBucket(1e9, 10**9)
    configure_logging("ingest", "info", stream=io.StringIO(), log_format="json")
    log = LineLogger("ingest")
    depth = settings.max_json_depth

    def log_lines() -> None:
        out = io.StringIO()
        configure_logging("ingest", "info", stream=out, log_format="json")
        for e in envelopes:
            log.info("stored", event_id=e.id, source="koywe", aggregate_id=e.key, event_name=e.event_name,
                     produce_ms=1.23)

    return {
        "content type check": lambda: [content_type_ok("application/json") for _ in bodies],
        "rate-limit token (take)": lambda: [bucket.take() for _ in bodies],
        "depth scan (too_deep)": lambda: [too_deep(b, depth) for b in bodies],
        "JSON parse (load_object)": lambda: [load_object(b) for b in bodies],
        "signature (verify_koywe)": lambda: [source.verify(b, d, HEADERS) for b, d in zip(bodies, docs)],
        "route (route_koywe)": lambda: [source.route(d, HEADERS) for d in docs],
        "kept headers": lambda: [kept_headers(HEADERS, source) for _ in bodies],
        "envelope (clock + new_envelope)": lambda: [
            new_envelope(source="koywe", key=r.key, event_name=r.event_name, body=b, received_at=utcnow(),
                         headers={"content-type": "application/json"}) for b, r in zip(bodies, routes)],
        "encode_envelope": lambda: [encode_envelope(e) for e in envelopes],
        "partition (cached murmur2)": lambda: [key_partitioner(k, partitions, partitions) for k in keys],
        "metrics (ack histogram + answer counter)": lambda: [
            (metrics.produce_acked.observe(0.002), metrics.answered("koywe", 200)) for _ in bodies],
        "log line (stored)": log_lines,
        "response (orjson + web.Response)": lambda: [
            web.Response(status=200, body=orjson.dumps({"id": e.id, "status": "stored", "key": e.key}),
                         content_type="application/json") for e in envelopes],
    }


def run(bodies: int = 2000, rounds: int = 5) -> dict[str, float]:
    """{stage: median µs per call}."""
    made = [b.body for b in lifecycle_bodies("stages", max(1, bodies // 5), SECRET)][:bodies]
    loops = stages(made)

    def timed(name: str) -> Callable[[int], dict[str, Any]]:
        def arm(_: int) -> dict[str, Any]:
            start = time.process_time()
            loops[name]()
            return {"us": (time.process_time() - start) / len(made) * 1e6}
        return arm

    runs = interleave({name: timed(name) for name in loops}, rounds)
    return {name: round(median([r["us"] for r in rs]), 2) for name, rs in runs.items()}


#: Stages of the path under load, as frames of a py-spy profile of `hooklog ingest` (inclusive
#: samples of any frame whose text holds one of the markers; a sample counts once per stage;
#: a stage in OUTSIDE leaves out the samples that are also inside those frames).
LOAD_STAGES: dict[str, tuple[str, ...]] = {
    "aiohttp: read + parse HTTP (data_received)": ("RequestHandler.data_received",),
    "aiohttp: route (UrlDispatcher.resolve)": ("UrlDispatcher.resolve",),
    "aiohttp: make request object": ("Application._make_request",),
    "gate + error guard, own code (webhook + guard; before: the front middleware)": (
        "webhook (ingest/gateway/app.py", "guard (ingest/gateway/fallbacks.py", "front (ingest/gateway/app.py", "json_errors (ingest/gateway/app.py",
        "webhook_gate (ingest/gateway/app.py"),
    "aiohttp: middleware chain (none now)": ("_fix_request_current_app", "_cached_build_middleware"),
    "handler: read body": ("read_body (ingest",),
    "handler: depth scan + JSON parse": ("too_deep (", "load_object ("),
    "handler: signature": ("verify_koywe_keys (", "verify_koywe ("),
    "handler: route + kept headers": ("route_koywe (", "kept_headers ("),
    "envelope: clock + new_envelope": ("utcnow (", "new_envelope ("),
    "envelope: encode": ("encode_envelope (",),
    "produce: deadline (asyncio.timeout; now one sweep timer)": (
        "Timeout.", "timeout (asyncio/timeouts.py", "Deadlines."),
    "produce: aiokafka send (enqueue; now DirectAppend)": ("AIOKafkaProducer.send (", "DirectAppend."),
    "produce: aiokafka sender (requests to the broker, acks)": ("Sender._sender_routine", "SendProduceReqHandler"),
    "metrics": ("prometheus_client", "IngestMetrics."),
    "log line": ("LineLogger.",),
    "response: build": ("Response.__init__ (aiohttp",),
    "response: write (finish_response)": ("RequestHandler.finish_response",),
}


OUTSIDE = {"gate + error guard, own code (webhook + guard; before: the front middleware)": ("receive (ingest/gateway/app.py",),
           "aiohttp: middleware chain (none now)": ("front (ingest/gateway/app.py", "receive (ingest/gateway/app.py")}


def load_shares(collapsed: Path) -> tuple[int, dict[str, float]]:
    """(samples, {stage: % of samples}) from py-spy's raw (collapsed) output."""
    total, hits = 0, dict.fromkeys(LOAD_STAGES, 0)
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for stage, markers in LOAD_STAGES.items():
            if any(marker in stack for marker in markers) and not any(
                    inner in stack for inner in OUTSIDE.get(stage, ())):
                hits[stage] += int(count)
    return total, {stage: 100 * n / max(total, 1) for stage, n in hits.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_stages", description=__doc__.split("\n")[0])
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--collapsed", type=Path, default=None,
                        help="py-spy raw output of `hooklog ingest` under load: print its stage shares instead")
    parser.add_argument("--cpu-us", type=float, default=None, help="ingest's CPU µs per request (bench ingest)")
    args = parser.parse_args(argv)
    if args.collapsed is not None:
        total, shares = load_shares(args.collapsed)
        print(f"{total} samples; % of samples" + (f", × {args.cpu_us:.0f} µs per request" if args.cpu_us else ""))
        for stage, pct in shares.items():
            print(f"| {stage} | {pct:.1f}% |" + (f" {pct * args.cpu_us / 100:.1f} |" if args.cpu_us else ""))
        return
    info = machine()
    result = run(args.bodies, args.rounds)
    print(f"CPU: {info['cpu']} ({info['cores']} cores), Python {info['python']}; {args.bodies} bodies, "
          f"{args.rounds} interleaved rounds, median CPU µs per call (process time)")
    print("| stage | µs per request |\n|---|---|")
    for name, us in result.items():
        print(f"| {name} | {us:.2f} |")
    print(f"| **sum of these stages** | **{sum(result.values()):.1f}** |")


if __name__ == "__main__":
    main()
