"""The worker's Prometheus metrics and per-event structured log lines.

`observe` runs once per raw record after the fold: it counts the event by source and name (or
the dead letter), counts alerts by type, and logs the delivery id, source and aggregate id.
Consumer lag is computed at scrape time from numbers the consumer already holds in memory
(the high watermark of its last fetch minus the committed offset), so a scrape costs no request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ingest.logs import get_logger
from streams.processing import Outcome

log = get_logger("worker")
FOLD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


def first_line_json(raw: bytes | None) -> dict[str, Any]:
    """The JSON object on the first line: a raw record's envelope metadata (id, source, key …)
    or an alert (one line); {} if it is not one."""
    try:
        meta = orjson.loads((raw or b"").partition(b"\n")[0])
    except orjson.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _text(value: Any, default: str = "unknown") -> str:
    return value if isinstance(value, str) and value else default


class ConsumerLag(Collector):
    """`hooklog_worker_consumer_lag{topic,partition}` for the raw topic's assigned partitions."""

    def __init__(self, app: Any, topic: str) -> None:
        self._app, self._topic = app, topic

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("hooklog_worker_consumer_lag",
                                   "Raw-topic records not yet committed by the worker: high watermark - committed offset",
                                   labels=["topic", "partition"])
        consumer = getattr(self._app, "_consumer", None)  # None until the worker started
        if consumer is not None:
            for tp, lag in sorted(_lags(consumer, self._topic).items()):
                family.add_metric([tp.topic, str(tp.partition)], lag)
        yield family


def _lags(consumer: Any, topic: str) -> dict[Any, int]:
    """In-memory numbers only: the last fetch's high watermark, the last commit (Kafka's "next
    offset"), or the last read offset + 1 before the first commit."""
    lags: dict[Any, int] = {}
    try:
        assignment = consumer.assignment()
    except Exception:  # noqa: BLE001 - a consumer between rebalances has no assignment to show
        return lags
    for tp in assignment:
        if tp.topic != topic:
            continue
        highwater = consumer.highwater(tp)
        committed = consumer._committed_offset.get(tp)  # noqa: SLF001 - Faust keeps it in memory
        if committed is None and (read := consumer._read_offset.get(tp)) is not None:  # noqa: SLF001
            committed = read + 1
        if highwater is not None and committed is not None:
            lags[tp] = max(0, highwater - committed)
    return lags


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
        self.fold_seconds = Histogram("hooklog_worker_fold_seconds", "Decode + fold + publish time of one record",
                                      buckets=FOLD_BUCKETS, registry=r)
        self.api_refusals = Counter("hooklog_worker_api_refusals", "Query API requests refused, by status",
                                    ["status"], registry=r)

    def watch_lag(self, app: Any, topic: str) -> None:
        self.registry.register(ConsumerLag(app, topic))

    def observe(self, raw: bytes | None, outcome: Outcome, started: float, partition: int, offset: int) -> None:
        """Count and log one folded record; never raises (a metrics bug must not stop the fold)."""
        try:
            self._observe(raw, outcome, started, partition, offset)
        except Exception:  # noqa: BLE001
            log.exception("metrics_failed", partition=partition, offset=offset)

    def _observe(self, raw: bytes | None, outcome: Outcome, started: float, partition: int, offset: int) -> None:
        meta = first_line_json(raw)
        source = _text(meta.get("source"))
        alert_types = [_text(first_line_json(o.value).get("type")) for o in outcome.outputs if o.topic == "alerts"]
        for alert_type in alert_types:
            self.alerts.labels(alert_type).inc()
        if outcome.dead:
            self.dead_letters.labels(source).inc()
        else:
            self.events.labels(source, _text(outcome.event_name)).inc()
        self.fold_seconds.observe(time.perf_counter() - started)
        log.info("dead_lettered" if outcome.dead else "folded", event_id=meta.get("id"), source=source,
                 aggregate_id=meta.get("key"), event_name=outcome.event_name, partition=partition, offset=offset,
                 alerts=alert_types or None)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
