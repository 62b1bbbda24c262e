"""Resend dead-lettered notifications (`hooklog dlq redrive --notifications`), once their sink
is back: each goes to the sink it was meant for, with the same change ids, through the same
retry budget; one that fails again is dead-lettered again. Progress is committed in the group
`<prefix>-notify-redrive`, so a redrive resumes and never sends the same dead letter twice."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from schemas.envelope import utcnow
from schemas.errors import BrokerUnavailableError
from schemas.notify import DeadNotification
from floor.kafka import clients
from floor.settings import Settings
from floor.kafka.names import notify_redrive_group
from streams.notify.consumer import new_producer, stop_all
from streams.notify.metrics import NotifyMetrics
from streams.notify.notifier import Delivery
from streams.notify.sinks import Notice, Sender


@dataclass
class NotifyRedriveReport:
    resent: list[str] = field(default_factory=list)  # change ids a sink accepted
    failed: list[str] = field(default_factory=list)  # dead-lettered again
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (key, why)


async def redrive_notifications(settings: Settings, *, idle_timeout_s: float = 5.0) -> NotifyRedriveReport:
    report = NotifyRedriveReport()
    sinks = {sink.label: sink for sink in settings.notify_sinks}
    metrics = NotifyMetrics(CollectorRegistry())
    consumer = clients.consumer(settings, settings.topic("notify-dlq"),
                                group_id=notify_redrive_group(settings), enable_auto_commit=False,
                                auto_offset_reset="earliest")
    producer = new_producer(settings)
    try:
        await consumer.start()
        await producer.start()
    except Exception as exc:  # noqa: BLE001 - aiokafka raises several unrelated types here
        await stop_all(consumer, producer)
        raise BrokerUnavailableError.unreachable(settings.kafka_bootstrap_servers, exc) from exc
    try:
        async with aiohttp.ClientSession() as session:
            deliveries = {label: Delivery(settings, sink, Sender(sink, settings, session, utcnow), producer, metrics, utcnow)
                          for label, sink in sinks.items()}
            while batches := await consumer.getmany(timeout_ms=int(idle_timeout_s * 1000), max_records=100):
                for records in batches.values():
                    for record in records:
                        await _resend(record.key, record.value, deliveries, report)
                await consumer.commit()
    finally:
        await stop_all(consumer, producer)
    return report


async def _resend(key: bytes | None, value: bytes | None, deliveries: dict[str, Delivery],
                  report: NotifyRedriveReport) -> None:
    name = key.decode(errors="replace") if key else "?"
    try:
        dead = DeadNotification.model_validate_json(value or b"")
    except ValidationError:
        report.skipped.append((name, "not a dead notification"))
        return
    delivery = deliveries.get(dead.sink)
    if delivery is None:
        report.skipped.append((name, f"sink {dead.sink!r} is not in HOOKLOG_NOTIFY"))
        return
    notices = [Notice(lc, lc.changes[-1]) for lc in dead.lifecycles if lc.changes]
    if await delivery.deliver(notices):
        report.resent.extend(n.change.id for n in notices)
    else:
        report.failed.extend(n.change.id for n in notices)
