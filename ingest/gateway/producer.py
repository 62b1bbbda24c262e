"""The raw-log producer: acks=all, idempotent, and a deadline on every acknowledgement.

A request is answered 2xx only after `send` returned, i.e. after every in-sync replica has the
record. If the broker is away, `send` raises BrokerUnavailableError within the deadline (one
sweep timer checks every request's, so up to its 50 ms tick later: ingest/gateway/deadlines.py) and
ingest answers 503 + Retry-After; the producer reconnects by itself on a later request. A
record whose request got a 503 may still be stored later: at least once, never a 2xx for a
lost one.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)

from floor.kafka import clients
from floor.kafka.partitioning import key_partitioner
from floor.seam.aiokafka_producer import DirectAppend
from floor.settings import Settings
from ingest.gateway.deadlines import Deadlines
from schemas.envelope import Envelope, encode_envelope
from schemas.errors import BrokerUnavailableError

# The broker no longer accepts this producer's id/sequence (seen after a broker restart under
# load: aiokafka's sender then fails every later send with the same error, for ever). Only a new
# producer, with a new id and sequences from 0, can append again.
BROKEN_PRODUCER = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, InvalidProducerIdMapping,
                   ProducerFenced)


class RawProducer:
    """One aiokafka producer per ingest process, (re)started lazily with a back-off."""

    def __init__(self, cluster: Settings, topic: str, *, ack_timeout_s: float, restart_backoff_s: float = 1.0,
                 linger_ms: float = 0) -> None:
        self._cluster = cluster
        self._linger_ms = linger_ms
        self._topic = topic
        self._ack_timeout_s = ack_timeout_s
        self._restart_backoff_s = restart_backoff_s
        self._producer: AIOKafkaProducer | None = None
        self._append: DirectAppend | None = None
        self._deadlines = Deadlines()
        self._last_attempt = float("-inf")
        self._lock = asyncio.Lock()
        self._stopping: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> RawProducer:
        """Ingest's producer of the raw topic, as the settings configure it."""
        return cls(settings, settings.topic("raw"), ack_timeout_s=settings.produce_timeout_s,
                   linger_ms=settings.produce_linger_ms)

    @property
    def ready(self) -> bool:
        """True once connected; readiness probes use it."""
        return self._producer is not None

    def _new_producer(self) -> AIOKafkaProducer:
        return clients.producer(
            self._cluster,
            acks="all",
            enable_idempotence=True,
            linger_ms=self._linger_ms,  # HOOKLOG_PRODUCE_LINGER_MS: latency vs CPU per record (docs/performance.md)
            max_batch_size=256 * 1024,
            compression_type=None,
            request_timeout_ms=max(1000, int(self._ack_timeout_s * 1000)),
            client_id="hooklog-ingest",
            partitioner=key_partitioner,
        )

    async def start(self) -> bool:
        """Try to connect now (at most once per back-off period); False if the broker is away."""
        async with self._lock:
            if self._producer is not None:
                return True
            if time.monotonic() - self._last_attempt < self._restart_backoff_s:
                return False
            self._last_attempt = time.monotonic()
            producer = self._new_producer()
            try:
                await asyncio.wait_for(producer.start(), self._ack_timeout_s)
            except (KafkaError, OSError, asyncio.TimeoutError):
                await _quietly_stop(producer)
                return False
            self._producer, self._append = producer, DirectAppend(producer, self._topic)
            return True

    async def send(self, envelope: Envelope) -> str:
        """Append one envelope and wait for acks=all: its position `<partition>:<offset>` in the
        raw log (what `?min_position=` asks a worker for); BrokerUnavailableError if not in time."""
        if self._producer is None and not await self.start():
            raise BrokerUnavailableError.unreachable(self._cluster.kafka_bootstrap_servers)
        producer, append = self._producer, self._append
        assert producer is not None and append is not None
        deadline = time.monotonic() + self._ack_timeout_s
        try:
            # The append (floor/seam/aiokafka_producer.py) waits only while the partition's batch is full (at most
            # the deadline); then one sweep timer for every request's deadline (ingest/gateway/deadlines.py)
            # instead of a timer each.
            future = await append.append(envelope.key.encode(), encode_envelope(envelope),
                                         int(envelope.received_at.timestamp() * 1000), self._ack_timeout_s)
            self._deadlines.watch(future, deadline)
            stored = await future
        except (KafkaError, OSError, TimeoutError) as exc:
            if isinstance(exc, BROKEN_PRODUCER):
                self._discard(producer)
            raise BrokerUnavailableError(
                f"Kafka did not acknowledge within {self._ack_timeout_s}s ({type(exc).__name__})"
            ) from exc
        return f"{stored.partition}:{stored.offset}"

    def _discard(self, producer: AIOKafkaProducer) -> None:
        """Drop a producer the broker refuses (unless another send already replaced it); the
        next send starts a fresh one."""
        if self._producer is producer:
            self._producer = None
            self._last_attempt = float("-inf")  # no back-off: the broker is there
            task = asyncio.get_running_loop().create_task(_quietly_stop(producer))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def stop(self) -> None:
        """Flush what is in flight and disconnect (graceful shutdown)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly_stop(producer)
        await asyncio.gather(*self._stopping, return_exceptions=True)  # discarded ones, still stopping
        self._deadlines.cancel()


async def _quietly_stop(producer: AIOKafkaProducer, timeout_s: float = 10.0) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout_s)
    except (KafkaError, OSError, asyncio.TimeoutError):
        pass
