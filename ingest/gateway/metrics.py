"""Prometheus metrics of the ingest gateway, in a registry of their own (one per app).

Labels are bounded: `source` is a configured source name or `unknown` (never the raw path
segment), `status` an HTTP status code. Nothing here can carry a secret or a payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PRODUCE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class IngestMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("hooklog_ingest_requests", "Webhook requests answered, by source and HTTP status",
                                ["source", "status"], registry=r)
        self.signature_failures = Counter("hooklog_ingest_signature_failures",
                                          "Webhooks refused because their signature did not verify", ["source"],
                                          registry=r)
        self.produce_seconds = Histogram("hooklog_ingest_produce_seconds",
                                         "Time from produce to the broker's acks=all acknowledgement (or failure)",
                                         ["outcome"], buckets=PRODUCE_BUCKETS, registry=r)
        self.limited_total = Counter("hooklog_ingest_limited",
                                     "Webhooks refused with 429 by a rate limit (reason: rate, failed_signatures)",
                                     ["source", "reason"], registry=r)
        self.token_requests = Counter("hooklog_ingest_token_requests",
                                      "POST /oauth/token requests (Kuenta's token mode), by outcome (issued, refused)",
                                      ["outcome"], registry=r)
        self.in_flight = Gauge("hooklog_ingest_in_flight", "Webhook requests being handled now", registry=r)
        self.broker_ready = Gauge("hooklog_ingest_broker_ready", "1 if the last readiness check reached the broker",
                                  registry=r)

        # Labelled once, as it is observed per request. ("error" stays unlabelled until it happens,
        # so a scrape shows no error series before there was one.)
        self.produce_acked = self.produce_seconds.labels("acked")
        self._answers: dict[tuple[str, int], Any] = {}
        self._limited: dict[tuple[str, str], Any] = {}

    def answered(self, source: str, status: int) -> None:
        """Count one webhook answer; each (source, status) child is looked up once, not per request."""
        child = self._answers.get((source, status))
        if child is None:
            child = self._answers[(source, status)] = self.requests.labels(source, str(status))
        child.inc()

    def limited(self, source: str, reason: str) -> None:
        """Count one 429 (a storm makes this per request, so the children are cached too)."""
        child = self._limited.get((source, reason))
        if child is None:
            child = self._limited[(source, reason)] = self.limited_total.labels(source, reason)
        child.inc()

    def watch_in_flight(self, count: Callable[[], int]) -> None:
        """The in-flight gauge reads `count()` at scrape time: nothing to update per request."""
        self.in_flight.set_function(count)

    def exposition(self) -> tuple[bytes, str]:
        """The text format and its content type, for `GET /metrics`."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
