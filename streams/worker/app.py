"""The Faust worker: one agent over the raw log, one table per projection.

The parts above it (the query API, the console, the order index, alerting) are added by the
composition root (streams/compose/worker.py), which hands the fold agent its observer.

At-least-once with idempotent folds (Faust's exactly-once is unreliable); one agent instance
(`concurrency>1` loses offsets). Tables are keyed like the raw topic (aggregate id) and have its
partition count, so each table partition is restored from its own changelog partition.
"""

from __future__ import annotations

import faust

from floor.logs import get_logger
from projections.registry import PROJECTIONS
from floor.tls import CertificateReloader, server_tls
from floor.settings import Settings
from floor.kafka import clients
from floor.kafka.names import app_id, store_dir, worker_group
from floor.kafka.replication import replication_for
from streams.kafka.seam import (
    BATCH_BYTES,
    BulkRestoringTableManager,
    RawBytesSchema,
    RocksDBBudget,
    budgeted_table_class,
    install_fast_delivery,
    install_contact_clock,
    install_transport,
    fast_path_settings,
    versions_drift,
)
from streams.worker.fold_loop import FoldLoop, FoldObserver
from streams.worker.handle import Worker
from streams.worker.health import FoldHealth, GroupContact
from streams.worker.memory import trim_malloc
from streams.worker.metrics import WorkerMetrics
from streams.worker.tls import install_tls
from streams.worker.waiters import FoldWaiters

log = get_logger("worker")


def raw_bytes_topic(app: faust.App, name: str, partitions: int, fast: bool = False) -> faust.TopicT:
    """A topic of raw bytes; with the fast paths its records become events without Faust's codecs."""
    if fast:
        return app.topic(name, schema=RawBytesSchema(), partitions=partitions)
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", partitions=partitions)


def fast_paths(settings: Settings) -> bool:
    """Whether the worker runs with the seam's fast paths: asked for, and the libraries are the
    versions they were read against (otherwise stock Faust, and the log says why)."""
    drift = versions_drift()
    if settings.worker_fast_paths and drift:
        log.warning("fast_paths_off", reason="library versions differ from the seam's pins", drift=drift)
    return settings.worker_fast_paths and not drift


def faust_app(settings: Settings, fast: bool, tls: CertificateReloader | None) -> faust.App:
    """Faust's app with hooklog's settings (at-least-once, acks=all, hooklog's table manager)."""
    datadir = store_dir(settings)
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        app_id(settings),
        broker=clients.faust_brokers(settings),
        broker_credentials=clients.faust_credentials(settings),  # TLS and SASL, as every other client
        store=settings.table_store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        # hooklog creates the worker's topics first (floor/kafka/topics.py); this only matters for
        # a topic Faust would create itself. The runner filled in the cluster's defaults.
        topic_replication_factor=replication_for(settings, brokers=1).factor,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        web_enabled=True,
        web_bind=settings.worker_host,
        web_host=settings.worker_host,
        web_port=settings.worker_port,
        web_ssl_context=tls.context if tls else None,
        # Many workers (docs/operations.md): each advertises its own URL in the group's assignment
        # metadata (what other workers forward its keys to); a dead member is noticed within the
        # session timeout (Faust's default, 60 s, held a crashed worker's keys for a minute);
        # standby copies make a takeover a short catch-up; a worker id makes the member static.
        canonical_url=settings.advertised_url,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 3,
        consumer_group_instance_id=settings.worker_id,
        table_standby_replicas=settings.standby_replicas,
        web_tables_enabled=False,
        autodiscover=False,
        # its Recovery seeks before it resumes, and restores in bulk once the composition root gives it
        # a reader (streams/compose/worker.py, with the fast paths; streams/kafka/seam/faust_restore.py)
        TableManager=BulkRestoringTableManager,
        # every RocksDB store shares one cache and one memtable budget (streams/kafka/seam/faust_rocksdb.py)
        Table=budgeted_table_class(RocksDBBudget(settings.worker_rocksdb_cache_bytes,
                                                settings.worker_rocksdb_write_buffer_bytes)),
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        producer_max_batch_size=BATCH_BYTES,  # the size of BatchWrites' record batches (one per partition)
        producer_linger=0.005,  # fewer, larger produce requests: ~16% less worker CPU/event (bench/PROPOSED_CHANGES.md)
        stream_buffer_maxsize=settings.worker_stream_buffer_maxsize,
        consumer_max_fetch_size=settings.worker_fetch_bytes,
        **fast_path_settings(fast),
    )


def build_app(settings: Settings) -> Worker:
    """The Faust app with its topics, one table per projection, HTTPS and the malloc trimmer;
    no agent yet (`add_fold_agent`)."""
    fast = fast_paths(settings)
    tls = server_tls(settings)  # HTTPS with HOOKLOG_TLS_CERT_FILE/_KEY_FILE (streams/worker/tls.py)
    app = faust_app(settings, fast, tls)
    # Before the first `app.transport` (app.topic below): a consumer that rewinds never-committed
    # partitions on Faust's seeks (streams/kafka/seam/faust_transport.py), fast delivery with the fast paths.
    if fast:
        install_fast_delivery(app)
    else:
        install_transport(app)
    names = ["raw", *(p.name for p in PROJECTIONS), "alerts", "dlq"]
    topics = {name: raw_bytes_topic(app, settings.topic(name), settings.partitions, fast) for name in names}
    tables = {
        # bytes values are stored raw (our state JSON); str keys go JSON-encoded into the changelog.
        p.name: app.Table(p.name, default=None, partitions=settings.partitions, key_type=str, value_type=bytes,
                          extra_topic_configs=replication_for(settings, brokers=1).config)
        for p in PROJECTIONS
    }
    metrics = WorkerMetrics()
    metrics.watch_lag(app, settings.topic("raw"))
    if settings.worker_malloc_trim_s > 0:
        @app.timer(settings.worker_malloc_trim_s)
        async def hand_back_freed_memory() -> None:  # drained fetch buffers, batches (streams/worker/memory.py)
            trim_malloc()

    # A worker cut off from the brokers stops claiming its keys once the session timeout passed
    # without a word from the coordinator (streams/worker/health.py GroupContact).
    install_contact_clock()
    contact = GroupContact(worker_group(settings), settings.session_timeout_s)
    worker = Worker(app, settings, tables, topics, metrics, FoldWaiters(), health=FoldHealth(), fast_paths=fast,
                    contact=contact)
    install_tls(worker, tls)
    return worker


def add_fold_agent(worker: Worker, observer: FoldObserver) -> FoldLoop:
    """The fold agent over the raw topic, telling `observer` of every batch that landed."""
    loop = FoldLoop(worker.app, worker.settings, worker.tables,
                    {name: topic.get_topic_name() for name, topic in worker.topics.items()},
                    frozenset(p.name for p in PROJECTIONS), worker.metrics, worker.waiters, worker.health,
                    observer, direct=worker.fast_paths, positions=worker.positions)
    # One agent instance (`concurrency>1` loses offsets); a batch that cannot be folded stops the
    # worker instead of crashing the agent (Faust would restart it and commit past the batch).
    worker.app.agent(worker.topics["raw"], name="fold")(loop.run)
    return loop
