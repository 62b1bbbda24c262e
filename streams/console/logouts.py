"""Console logouts that are final on every worker, kept in the brokers every worker already reads.

A console session is a signed cookie (session.py) that any worker configured alike accepts, so a
logout only one worker remembers would leave the same cookie good on the others, and on the same
worker after a restart. So a logout writes the session's id and expiry to
`<prefix>.console-logouts.v1` (one partition, acks=all) before it answers; every console request
then reads that topic up to the end offset the worker asks for at that moment (one ListOffsets
round trip, plus a fetch when another worker logged someone out since) and refuses a session
whose id is there. A logout acknowledged anywhere before a request started is therefore always
seen, on every worker, also after restarts: nothing is lost but memory of sessions past expiry.

When the worker cannot reach the brokers it cannot know whether a cookie was logged out, so
`revoked` raises BrokerUnavailableError and the console answers 503: a session that might have
ended is never accepted. Memory: one entry per logged-out session until its expiry passes, and
only holders of an API token can make one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError
from streams.kafka.seam import stop_consumer
from streams.notify.consumer import new_producer

TOPIC = "console-logouts"
FETCH_MS = 200


class Logouts:
    """The ended sessions (`sid -> expiry`), read from the topic up to its end on every check."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings, self.clock = settings, clock
        self.tp = TopicPartition(settings.topic(TOPIC), 0)
        self._ended: dict[str, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()  # one catch-up at a time; the console is a few operators

    async def revoked(self, sid: str) -> bool:
        """Whether the session `sid` was logged out on any worker (BrokerUnavailableError: cannot tell)."""
        async with self._lock:
            await self._brokers(self._catch_up(), "read the console's logouts")
        return sid in self._ended

    async def log_out(self, sid: str, expires: int) -> None:
        """End the session for good: stored in the brokers (acks=all) before this returns."""
        value = orjson.dumps({"exp": expires})
        await self._brokers(self._send(sid.encode(), value), "record the console logout")
        self._ended[sid] = expires

    async def _send(self, key: bytes, value: bytes) -> None:
        if self._producer is None:
            producer = new_producer(self.settings)  # acks=all, idempotent: as the alert actions
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        await self._producer.send_and_wait(self.tp.topic, value, key=key, partition=0)

    async def _catch_up(self) -> None:
        if self._consumer is None:
            consumer = clients.consumer(self.settings, enable_auto_commit=False, group_id=None,
                                        auto_offset_reset="earliest")
            try:
                await consumer.start()
            except BaseException:
                await stop_consumer(consumer)
                raise
            consumer.assign([self.tp])
            await consumer.seek_to_beginning(self.tp)
            self._consumer = consumer
        consumer = self._consumer
        end = (await consumer.end_offsets([self.tp]))[self.tp]
        while await consumer.position(self.tp) < end:
            batch = await consumer.getmany(self.tp, timeout_ms=FETCH_MS)
            for record in batch.get(self.tp, ()):
                self._note(record)
        now = self.clock()
        self._ended = {sid: exp for sid, exp in self._ended.items() if exp > now}

    def _note(self, record: ConsumerRecord) -> None:
        try:
            expires = int(orjson.loads(record.value)["exp"])
            sid = record.key.decode()
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return  # not a logout hooklog wrote: nothing to end
        self._ended[sid] = expires

    async def _brokers(self, work: Awaitable[None], doing: str) -> None:
        """`work` within HOOKLOG_PRODUCE_TIMEOUT_S, or BrokerUnavailableError saying what failed."""
        try:
            await asyncio.wait_for(work, self.settings.produce_timeout_s)
        except (KafkaError, TimeoutError, OSError) as exc:
            raise BrokerUnavailableError.unreachable(self.settings.kafka_bootstrap_servers, exc, doing=doing) from exc

    async def close(self) -> None:
        if self._consumer is not None:
            await stop_consumer(self._consumer)
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
