"""The consume -> handle -> commit loop the lifecycle folder, the clearing feed and the notifiers
share: at-least-once, offsets committed only once a partition's records were handled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError

from floor.logs import get_logger
from floor.kafka import clients
from floor.settings import Settings
from streams.kafka.seam import stop_consumer
from floor.kafka.topic_reader import read_partition_range

log = get_logger("notify")

Handle = Callable[[TopicPartition, list[ConsumerRecord]], Awaitable[None]]


def group_consumer(settings: Settings, topics: Sequence[str], group: str,
                   listener: ConsumerRebalanceListener | None = None) -> AIOKafkaConsumer:
    """A consumer of `group` over `topics`, committing by hand. The range assignor gives one
    member the same partition number of every topic: alerts and actions keyed by alert id meet."""
    consumer = clients.consumer(
        settings, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", partition_assignment_strategy=(RangePartitionAssignor,),
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.session_timeout_s * 1000 / 3),
        max_poll_interval_ms=int(max(300.0, settings.notify_timeout_s * settings.notify_attempts * 4) * 1000),
    )
    consumer.subscribe(list(topics), listener=listener)
    return consumer


def new_producer(settings: Settings) -> AIOKafkaProducer:
    return clients.producer(settings, acks="all", enable_idempotence=True)


async def consume(consumer: AIOKafkaConsumer, handle: Handle, *, max_records: int = 500) -> None:
    """Forever: fetch, handle each partition's records in order, commit after each. A commit
    refused by a rebalance is only logged: the records go to the new owner again (same ids)."""
    while True:
        batches = await consumer.getmany(timeout_ms=500, max_records=max_records)
        for tp, records in batches.items():
            if not records:
                continue
            await handle(tp, records)
            try:
                await consumer.commit({tp: records[-1].offset + 1})
            except (CommitFailedError, IllegalStateError) as exc:
                log.warning("commit_refused", topic=tp.topic, partition=tp.partition, error=str(exc))


async def consume_producing(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, handle: Handle) -> None:
    """Start both, `consume` with `handle` (which produces), stop both however it ends."""
    try:
        await producer.start()
        await consumer.start()
        await consume(consumer, handle)
    finally:
        await stop_all(consumer, producer)


async def read_partition(settings: Settings, topic: str, partition: int) -> list[ConsumerRecord]:
    """Every record of one partition, from its beginning to its end as of now (no group)."""
    return [record async for batch in read_partition_range(settings, topic, partition) for record in batch]


async def run_forever(name: str, start: Callable[[], Awaitable[None]], retry_s: float = 2.0) -> None:
    """Run `start` again after it fails (a broker away, a bug on one record): the worker's folds
    must go on while a notifier's part is down, and the failure is logged each time."""
    while True:
        try:
            await start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke, log it and start again
            log.error("notify_part_failed", part=name, error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(retry_s)


async def stop_all(consumer: AIOKafkaConsumer | None, producer: AIOKafkaProducer | None) -> None:
    if consumer is not None:
        await stop_consumer(consumer)
    if producer is not None:
        await producer.stop()
