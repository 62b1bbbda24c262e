"""Faust's own floor: CPU per record for an agent that does nothing but count.

    python -m bench.faust_floor [records] [take|events] [stock|fast]

Lays `records` 600-byte records (12,000 keys, 4 partitions) on a fresh topic, then runs a
faust-streaming worker (memory store) whose agent only counts them, and prints events/s and
CPU µs per record (process CPU, every thread) from the first record to the last. `stock` is
Faust as configured by default; `fast` is what `hooklog worker` runs by default: the seam's
Faust fast paths (streams/kafka/seam/faust_fast_paths.py), Settings' stream buffer and fetch size, and
its event loop (uvloop). `python -m bench.floor_rounds` interleaves the two in rounds. This is the part of `bench fold`'s worker
figure no change to hooklog's own code can remove (bench/PROPOSED_CHANGES.md, Q1). The topic is
left for `python -m bench clean` (its name holds `bench-`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid

import faust
from aiokafka.admin import NewTopic

from bench.common import cluster
from floor.kafka import clients
from floor.settings import Settings
from streams.kafka.seam import install_fast_delivery, fast_path_settings
from streams.worker.app import raw_bytes_topic
from streams.worker.runner import new_event_loop


async def _lay(bootstrap: str, topic: str, records: int) -> None:
    admin = clients.admin(cluster(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 4, 1)])
    finally:
        await admin.close()
    producer = clients.producer(cluster(bootstrap), linger_ms=5, max_batch_size=262144)
    await producer.start()
    try:
        for i in range(records):
            await producer.send(topic, b"x" * 600, key=f"k{i % 12000}".encode())
        await producer.flush()
    finally:
        await producer.stop()


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 54_000
    mode = sys.argv[2] if len(sys.argv) > 2 else "take"
    variant = sys.argv[3] if len(sys.argv) > 3 else "stock"
    settings = Settings()
    bootstrap = settings.kafka_bootstrap_servers
    topic = f"bench-{uuid.uuid4().hex[:8]}-floor"
    asyncio.run(_lay(bootstrap, topic, records))
    fast = variant == "fast"
    tuned = {"stream_buffer_maxsize": settings.worker_stream_buffer_maxsize,
             "consumer_max_fetch_size": settings.worker_fetch_bytes, **fast_path_settings(True)} if fast else {}
    app = faust.App(f"{topic}-app", broker=clients.faust_brokers(settings),
                    broker_credentials=clients.faust_credentials(settings), store="memory://",
                    web_enabled=False, consumer_auto_offset_reset="earliest", topic_partitions=4, autodiscover=False,
                    datadir=tempfile.mkdtemp(prefix="faust-floor-"), **tuned)
    if fast:
        install_fast_delivery(app)
        new_event_loop(settings.worker_event_loop)
    source = raw_bytes_topic(app, topic, 4, fast)  # the worker's raw topic (with the fast paths: RawBytesSchema)
    seen = {"n": 0, "wall": 0.0, "cpu": 0.0}

    @app.agent(source)
    async def count(stream: faust.StreamT) -> None:
        batches = stream.take_events(500, within=0.005) if mode == "take" else stream.events()
        async for item in batches:
            if seen["n"] == 0:
                seen["wall"], seen["cpu"] = time.perf_counter(), time.process_time()
            seen["n"] += len(item) if mode == "take" else 1
            if seen["n"] >= records:
                wall, cpu = time.perf_counter() - seen["wall"], time.process_time() - seen["cpu"]
                print(f"faust {mode} {variant}: {records / wall:,.0f} records/s, "
                      f"{cpu / records * 1e6:.0f} µs CPU per record", flush=True)
                os._exit(0)

    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()


if __name__ == "__main__":
    main()
