"""The notifiers' metrics: deliveries by sink and outcome, each sink's lag (lifecycle records
not yet confirmed) and its last error, on the worker's `/metrics` (or `hooklog notify`'s) and
the console's alerts page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

OUTCOMES = ("delivered", "failed", "dead_lettered")


@dataclass
class SinkHealth:
    """What the console shows of one sink."""

    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0
    lag: dict[int, int] = field(default_factory=dict)  # partition -> records not yet confirmed
    last_error: str | None = None
    last_error_at: float | None = None

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


class NotifyMetrics(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sinks: dict[str, SinkHealth] = {}
        self.deliveries = Counter("hooklog_notify_deliveries", "notification deliveries by sink and outcome "
                                  "(failed: an attempt the sink refused; dead_lettered: out of retries)",
                                  ["sink", "outcome"], registry=registry)
        registry.register(self)

    def sink(self, name: str) -> SinkHealth:
        return self.sinks.setdefault(name, SinkHealth())

    def outcome(self, name: str, outcome: str, error: str | None = None) -> None:
        health = self.sink(name)
        setattr(health, outcome, getattr(health, outcome) + 1)
        self.deliveries.labels(name, outcome).inc()
        if error is not None:
            health.last_error, health.last_error_at = error, time.time()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily("hooklog_notify_lag", "lifecycle records a sink's notifier has not confirmed yet",
                                labels=["sink"])
        when = GaugeMetricFamily("hooklog_notify_last_error_timestamp_seconds",
                                 "when a sink last refused a delivery (Unix time)", labels=["sink"])
        error = GaugeMetricFamily("hooklog_notify_last_error", "a sink's last error, in the label (value 1)",
                                  labels=["sink", "error"])
        for name, health in sorted(self.sinks.items()):
            lag.add_metric([name], health.total_lag)
            if health.last_error is not None and health.last_error_at is not None:
                when.add_metric([name], health.last_error_at)
                error.add_metric([name, health.last_error[:200]], 1)
        yield lag
        yield when
        yield error
