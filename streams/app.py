"""The Faust worker: one agent over the raw log, one table per projection, and the query API.

At-least-once with idempotent folds (Faust's exactly-once is unreliable); one agent instance
(`concurrency>1` loses offsets). Tables are keyed like the raw topic (aggregate id) and have its
partition count, so each table partition is restored from its own changelog partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from projections.registry import PROJECTIONS
from schemas.envelope import utcnow
from schemas.settings import Settings
from streams.processing import process_record


@dataclass
class Worker:
    """The Faust app and the handles its views and tests need."""

    app: faust.App
    settings: Settings
    tables: dict[str, faust.Table]
    topics: dict[str, faust.TopicT]


def _raw_topic(app: faust.App, name: str, partitions: int) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", partitions=partitions)


def build_worker(settings: Settings) -> Worker:
    datadir = settings.data_dir / f"{settings.topic_prefix}-worker"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.topic_prefix}-worker",
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        store=settings.table_store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        web_enabled=True,
        web_bind=settings.worker_host,
        web_host=settings.worker_host,
        web_port=settings.worker_port,
        web_tables_enabled=False,
        autodiscover=False,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
    )
    names = ["raw", *(p.name for p in PROJECTIONS), "alerts", "dlq"]
    topics = {name: _raw_topic(app, settings.topic(name), settings.partitions) for name in names}
    tables = {
        # bytes values are stored raw (our state JSON); str keys go JSON-encoded into the changelog.
        p.name: app.Table(p.name, default=None, partitions=settings.partitions, key_type=str, value_type=bytes)
        for p in PROJECTIONS
    }

    @app.agent(topics["raw"], name="fold")
    async def fold(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            outcome = process_record(message.value, tables, utcnow, message.partition, message.offset)
            for output in outcome.outputs:
                await topics[output.topic].send(key=output.key, value=output.value)

    worker = Worker(app, settings, tables, topics)
    from streams.web import install_views  # the views need the Worker handle

    install_views(worker)
    return worker
