"""The worker's Prometheus metrics and structured log lines, once per folded batch.

`observe_batch` counts events by source and name, dead letters by source and alerts by type,
and logs one `folded_batch` line; each dead letter gets its own `dead_lettered` line, and each
folded record a `folded` line (delivery id, source, aggregate id) at debug level only: per-event
info lines cost ~8 % of the worker's CPU (bench/PROPOSED_CHANGES.md, P2).
Routing (streams/api/forward.py): forwarded requests by outcome, 503 answers by reason, and the
partitions this worker owns as active (read at scrape time; never raises).
Consumer lag is computed at scrape time from numbers the consumer already holds in memory
(the high watermark of its last fetch minus the committed offset), so a scrape costs no request.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as CounterOf
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from floor.logs import get_logger
from streams.kafka.seam import committed_position, started_consumer
from streams.worker.processing import Outcome

log = get_logger("worker")
FOLD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)


class Folded(NamedTuple):
    """One raw record's outcome and where it was read."""

    outcome: Outcome
    partition: int
    offset: int


def _text(value: Any, default: str = "unknown") -> str:
    return value if isinstance(value, str) and value else default


class ConsumerLag(Collector):
    """`hooklog_worker_consumer_lag{topic,partition}` for the raw topic's assigned partitions, and
    `hooklog_worker_seam_broken{item="consumer_lag"}`: 1 when the Faust internals the lag is read
    from moved (an upgrade), the lag then unknown (no samples) rather than a 500 from `/metrics`."""

    def __init__(self, app: Any, topic: str) -> None:
        self._app, self._topic = app, topic
        self._logged: str | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        broken = GaugeMetricFamily("hooklog_worker_seam_broken",
                                   "1 when a faust-streaming/aiokafka internal a reading relies on moved: "
                                   "that reading is unknown (streams/kafka/seam)", labels=["item"])
        try:
            lags = self._lags()
        except Exception as exc:  # noqa: BLE001 - one moved attribute must not fail the whole scrape
            lags = {}
            broken.add_metric(["consumer_lag"], 1)
            if self._logged != repr(exc):  # once per distinct failure, not once per scrape
                self._logged = repr(exc)
                log.error("seam_broken", item="consumer_lag", error=repr(exc), lag="unknown")
        else:
            broken.add_metric(["consumer_lag"], 0)
        family = GaugeMetricFamily("hooklog_worker_consumer_lag",
                                   "Raw-topic records not yet committed by the worker: high watermark - committed offset",
                                   labels=["topic", "partition"])
        for tp, lag in sorted(lags.items()):
            family.add_metric([tp.topic, str(tp.partition)], lag)
        yield family
        yield broken

    def _lags(self) -> dict[Any, int]:
        consumer = started_consumer(self._app)  # None until the worker started
        return {} if consumer is None else _lags(consumer, self._topic)


def _lags(consumer: Any, topic: str) -> dict[Any, int]:
    """In-memory numbers only: the last fetch's high watermark minus the next offset to commit
    (streams/kafka/seam: committed_position)."""
    lags: dict[Any, int] = {}
    try:
        assignment = consumer.assignment()
    except Exception:  # noqa: BLE001 - a consumer between rebalances has no assignment to show
        return lags
    for tp in assignment:
        if tp.topic != topic:
            continue
        highwater = consumer.highwater(tp)
        committed = committed_position(consumer, tp)
        if committed is None and highwater == 0:  # an empty partition: nothing to fold, nothing behind
            committed = 0
        if highwater is not None and committed is not None:
            lags[tp] = max(0, highwater - committed)
    return lags


class OwnedPartitions(Collector):
    """`hooklog_worker_owned_partitions`: raw-topic partitions this worker holds as active."""

    def __init__(self, owned: Any) -> None:
        self._owned = owned

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("hooklog_worker_owned_partitions",
                                   "Raw-topic partitions this worker holds as active (standbys excluded)")
        try:
            family.add_metric([], len(self._owned()))
        except Exception:  # noqa: BLE001 - a Faust attribute missing (starting, or an upgrade): no sample
            log.warning("owned_partitions_unreadable")
        yield family


@dataclass
class WorkerMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events = Counter("hooklog_worker_events_folded", "Raw records folded into a projection, by source and event",
                              ["source", "event"], registry=r)
        self.dead_letters = Counter("hooklog_worker_dead_letters", "Raw records sent to the DLQ, by source",
                                    ["source"], registry=r)
        self.alerts = Counter("hooklog_worker_alerts", "Alerts emitted, by type", ["type"], registry=r)
        self.failed_batches = Counter("hooklog_worker_failed_batches",
                                      "Attempts to fold a batch that failed (retried, or the worker stopped), by error",
                                      ["error"], registry=r)
        self.stalled_batches = Counter("hooklog_worker_stalled_batches",
                                       "Attempts to fold a batch whose writes waited longer than STALL_S for the "
                                       "broker's acknowledgement (its partitions could not advance meanwhile)",
                                       registry=r)
        self.batch_seconds = Histogram("hooklog_worker_batch_seconds",
                                       "Decode + fold + publish + table write time of one batch of records",
                                       buckets=FOLD_BUCKETS, registry=r)
        self.batch_records = Histogram("hooklog_worker_batch_records", "Raw records per folded batch",
                                       buckets=BATCH_BUCKETS, registry=r)
        self.api_refusals = Counter("hooklog_worker_api_refusals", "Query API requests refused, by status",
                                    ["status"], registry=r)
        self.forwarded = Counter("hooklog_worker_forwarded_requests",
                                 "Queries forwarded to the key's owner, by outcome (answered, unreachable, timeout)",
                                 ["outcome"], registry=r)
        self.unavailable = Counter("hooklog_worker_unavailable_answers",
                                   "503 answers of routed queries, by reason (rebalancing, recovering, ...)",
                                   ["reason"], registry=r)

    def watch_lag(self, app: Any, topic: str) -> None:
        self.registry.register(ConsumerLag(app, topic))

    def watch_owned(self, owned: Any) -> None:
        """`owned()` -> the active partitions (streams/kafka/seam/faust_assignor.py), read at each scrape."""
        self.registry.register(OwnedPartitions(owned))

    def batch_failed(self, error: str) -> None:
        self.failed_batches.labels(error).inc()

    def batch_stalled(self) -> None:
        self.stalled_batches.inc()

    def observe_batch(self, folded: Sequence[Folded], started: float) -> None:
        """Count and log one batch of records; never raises (a metrics bug must not stop the fold)."""
        try:
            self._observe_batch(folded, started)
        except Exception:  # noqa: BLE001
            log.exception("metrics_failed", records=len(folded))

    def _observe_batch(self, folded: Sequence[Folded], started: float) -> None:
        events: CounterOf[tuple[str, str]] = CounterOf()
        dead: CounterOf[str] = CounterOf()
        alerts: CounterOf[str] = CounterOf(t for f in folded for t in f.outcome.alert_types)
        for f in folded:
            if f.outcome.dead:
                dead[_text(f.outcome.source)] += 1
            else:
                events[(_text(f.outcome.source), _text(f.outcome.event_name))] += 1
        for (source, name), n in events.items():
            self.events.labels(source, name).inc(n)
        for source, n in dead.items():
            self.dead_letters.labels(source).inc(n)
        for alert_type, n in alerts.items():
            self.alerts.labels(alert_type).inc(n)
        self.batch_seconds.observe(time.perf_counter() - started)
        self.batch_records.observe(len(folded))
        per_event = log.isEnabledFor(logging.DEBUG)
        for f in folded:  # dead letters always get their own line; folded records at debug
            if f.outcome.dead or per_event:
                (log.info if f.outcome.dead else log.debug)(
                    "dead_lettered" if f.outcome.dead else "folded", event_id=f.outcome.delivery_id,
                    source=_text(f.outcome.source), aggregate_id=f.outcome.aggregate_id,
                    event_name=f.outcome.event_name, partition=f.partition, offset=f.offset,
                    alerts=list(f.outcome.alert_types) or None)
        log.info("folded_batch", records=len(folded), dead_lettered=sum(dead.values()),
                 alerts=sum(alerts.values()), ms=round((time.perf_counter() - started) * 1e3, 2))

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
