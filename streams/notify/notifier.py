"""One notifier per sink: the lifecycle topic in, the sink's protocol out, never lose one.

Each sink has its own consumer group (`<prefix>-notify-<sink>`) over `<prefix>.lifecycle.v1`,
so a dead or slow sink delays only itself. A record's latest change is delivered (`Delivery`):
retried with exponential backoff and jitter up to `HOOKLOG_NOTIFY_ATTEMPTS`, then dead-lettered
to `<prefix>.notify-dlq.v1` (`hooklog dlq redrive --notifications` resends it); the partition's
offset is committed only after that, so a crash (kill -9 included) re-sends at most what was not
confirmed, with the same change ids. Alertmanager's notifier also re-sends its partitions'
open alerts every `HOOKLOG_NOTIFY_ALERTMANAGER_RESEND_S`: Alertmanager ends an alert that is
no longer re-sent.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from schemas.errors import BrokerUnavailableError, NotifyError
from schemas.jsondump import plain_json
from schemas.lifecycle import AlertLifecycle, AlertStatus
from schemas.notify import AlertmanagerSink, DeadNotification, Sink, SlackSink
from floor.settings import Settings
from floor.kafka.names import notify_group
from streams.notify.consumer import consume, group_consumer, log, new_producer, read_partition, stop_all
from streams.notify.lifecycle import decode_lifecycle
from streams.notify.metrics import NotifyMetrics
from streams.notify.sinks import Notice, RetryAfter, Sender

FIRING = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
RECENT = 16_384  # change ids delivered lately: a republished state with the same change is not sent again


class Delivery:
    """Send one batch to a sink with the retry budget, else dead-letter it; never raises for the
    sink's failures (only for the broker's, which stops the notifier before it commits)."""

    def __init__(self, settings: Settings, sink: Sink, sender: Sender, producer: AIOKafkaProducer,
                 metrics: NotifyMetrics, clock: Callable[[], datetime], rng: Callable[[], float] = random.random) -> None:
        self.settings, self.sink, self.sender, self.producer = settings, sink, sender, producer
        self.metrics, self.clock, self.rng = metrics, clock, rng
        self.pace_s = settings.notify_slack_interval_s if isinstance(sink, SlackSink) else 0.0
        self.next_send = 0.0

    def backoff(self, attempt: int, error: NotifyError) -> float:
        """Exponential with equal jitter: half the step fixed, half random; a sink's Retry-After wins."""
        step = min(self.settings.notify_backoff_max_s, self.settings.notify_backoff_s * 2 ** attempt)
        wait = step / 2 + self.rng() * step / 2
        return max(wait, error.seconds) if isinstance(error, RetryAfter) else wait

    async def pace(self) -> None:
        """Slack: at most one message a second per sink (what does not fit waits in the batch)."""
        if self.pace_s:
            delay = self.next_send - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.next_send = time.monotonic() + self.pace_s

    async def deliver(self, batch: Sequence[Notice]) -> bool:
        """True once the sink accepted; False when it was dead-lettered after every attempt."""
        label, attempts = self.sink.label, self.settings.notify_attempts
        error: NotifyError | None = None
        for attempt in range(attempts):
            await self.pace()
            try:
                await self.sender.send(batch)
            except NotifyError as exc:
                error = exc
                self.metrics.outcome(label, "failed", str(exc))
                log.warning("notify_failed", sink=label, attempt=attempt + 1, of=attempts, error=str(exc),
                            change=batch[0].change.id)
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.backoff(attempt, exc))
                continue
            self.metrics.outcome(label, "delivered")
            return True
        await self.dead_letter(batch, str(error), attempts)
        return False

    async def dead_letter(self, batch: Sequence[Notice], error: str, attempts: int) -> None:
        dead = DeadNotification(sink=self.sink.label, error=error, attempts=attempts, deadAt=self.clock(),
                                lifecycles=tuple(n.lifecycle for n in batch))
        await self.producer.send_and_wait(self.settings.topic("notify-dlq"), plain_json(dead),
                                          key=batch[0].change.id.encode())
        self.metrics.outcome(self.sink.label, "dead_lettered", error)
        log.error("notify_dead_lettered", sink=self.sink.label, changes=[n.change.id for n in batch], error=error)


def notice_of(lifecycle: AlertLifecycle | None, sink: Sink) -> Notice | None:
    """What a lifecycle record gives this sink to deliver: its latest change, if the sink wants it."""
    if lifecycle is None or lifecycle.alert is None or not lifecycle.changes or not sink.wants(lifecycle.alert.type):
        return None
    return Notice(lifecycle, lifecycle.changes[-1])


class Notifier(ConsumerRebalanceListener):
    def __init__(self, settings: Settings, sink: Sink, metrics: NotifyMetrics, clock: Callable[[], datetime]) -> None:
        self.settings, self.sink, self.metrics, self.clock = settings, sink, metrics, clock
        self.topic = settings.topic("lifecycle")
        self.recent: OrderedDict[str, None] = OrderedDict()
        #: Alertmanager only: partition -> alert id -> lifecycle, the alerts to keep re-sending
        self.firing: dict[int, dict[str, AlertLifecycle]] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.delivery: Delivery | None = None
        #: a re-send and a change's delivery never overlap: a re-send landing after a resolve would reopen it
        self.sending = asyncio.Lock()
        metrics.sink(sink.label)

    async def run(self) -> None:
        self.recent.clear()
        self.firing = {}
        self.consumer = group_consumer(self.settings, [self.topic], notify_group(self.settings, self.sink.label), self)
        producer = new_producer(self.settings)
        async with aiohttp.ClientSession() as session:
            sender = Sender(self.sink, self.settings, session, self.clock)
            self.delivery = Delivery(self.settings, self.sink, sender, producer, self.metrics, self.clock)
            try:
                await producer.start()
                await self.consumer.start()
                parts = [consume(self.consumer, self.handle, max_records=100)]
                if isinstance(self.sink, AlertmanagerSink):
                    parts.append(self.resend_forever(sender))
                await asyncio.gather(*parts)
            finally:
                await stop_all(self.consumer, producer)

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        health = self.metrics.sink(self.sink.label)
        for tp in revoked:
            self.firing.pop(tp.partition, None)
            health.lag.pop(tp.partition, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if not isinstance(self.sink, AlertmanagerSink):
            return
        now = self.clock()
        for tp in assigned:
            firing = self.firing[tp.partition] = {}
            try:
                records = await read_partition(self.settings, self.topic, tp.partition)
            except BrokerUnavailableError as exc:  # the changes still come through `handle`; only re-sends wait
                log.warning("notify_resend_set_unread", sink=self.sink.label, partition=tp.partition, error=str(exc))
                continue
            for record in records:
                self.track(firing, notice_of(decode_lifecycle(record.value), self.sink), now)

    def track(self, firing: dict[str, AlertLifecycle], notice: Notice | None, now: datetime) -> None:
        if notice is None:
            return
        if notice.lifecycle.status is not AlertStatus.RESOLVED:  # a silenced one fires again once its silence ends
            firing[notice.lifecycle.alertId] = notice.lifecycle
        else:
            firing.pop(notice.lifecycle.alertId, None)

    async def handle(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        assert self.delivery is not None and self.consumer is not None
        notices = []
        for record in records:
            notice = notice_of(decode_lifecycle(record.value), self.sink)
            if notice is not None and notice.change.id not in self.recent:
                notices.append(notice)
        now = self.clock()
        for batch in self.delivery.sender.batches(notices):
            async with self.sending:
                await self.delivery.deliver(batch)
            for notice in batch:
                self.recent[notice.change.id] = None
                if isinstance(self.sink, AlertmanagerSink):
                    self.track(self.firing.setdefault(tp.partition, {}), notice, now)
            while len(self.recent) > RECENT:
                self.recent.popitem(last=False)
        high = self.consumer.highwater(tp)
        self.metrics.sink(self.sink.label).lag[tp.partition] = max(0, (high or 0) - records[-1].offset - 1)

    async def resend_forever(self, sender: Sender) -> None:
        """Alertmanager wants a firing alert re-sent; one that stops coming ends at its endsAt."""
        while True:
            await asyncio.sleep(self.settings.notify_alertmanager_resend_s)
            async with self.sending:
                await self.resend(sender)

    async def resend(self, sender: Sender) -> None:
        now = self.clock()
        firing = [lc for part in self.firing.values() for lc in part.values() if lc.status_at(now) in FIRING]
        for start in range(0, len(firing), 500):
            try:
                await sender.post(sender.alertmanager_body(firing[start:start + 500]), {"content-type": "application/json"})
            except NotifyError as exc:  # the next round tries again; the changes themselves went through Delivery
                self.metrics.outcome(self.sink.label, "failed", str(exc))
                log.warning("notify_resend_failed", sink=self.sink.label, error=str(exc))
