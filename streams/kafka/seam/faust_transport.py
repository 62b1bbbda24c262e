"""faust-streaming's producer and consumer: sending after the buffered changelog writes, the
in-memory offsets the lag reader shows, and the consumer's rewind of never-committed partitions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.transport.drivers.aiokafka import Transport as AIOKafkaTransport

from floor.seam.pins import SeamBrokenError, relies_on

_MISSING = object()


@relies_on(("faust.tables.base:Collection.send_changelog", "3dd3884e1b5fc0e1"),
           ("faust.transport.producer:Producer.send_soon", "fcef15ab45623ff9"),
           ("faust.transport.producer:ProducerBuffer.flush", "26fbebb124ad9c98"))
async def flush_changelog_writes(app: Any) -> None:
    """Hand every table write's changelog record to the Kafka producer now: a table write goes
    `send_changelog` -> `Producer.send_soon` -> the producer's `buffer` (a ProducerBuffer Faust
    drains in the background). Flushed before the projection records are sent, a published
    state is never newer than the changelog a restarted worker restores."""
    await app.producer.buffer.flush()


@relies_on(("faust.transport.drivers.aiokafka:Producer.send", "0b5bd08f52e5e2a9"))
def send_unbuffered(app: Any, topic: str, key: bytes | None, value: bytes | None,
                    partition: int | None) -> Awaitable[Awaitable[Any]]:
    """Send raw bytes through Faust's own Kafka producer (the transport `Producer.send`: no
    serializers, no buffer, no callbacks). Awaiting it hands the record to aiokafka and gives
    the future of the broker's ack (no coroutine of ours in between: it runs per record)."""
    return app.producer.send(topic, key, value, partition, None, None)


@relies_on(("faust.app.base:App.consumer", "354b140caceca03c"))
def started_consumer(app: Any) -> Any:
    """The app's consumer if it was created (`App._consumer`), else None: the public
    `App.consumer` property would create one as a side effect of a scrape."""
    consumer = getattr(app, "_consumer", _MISSING)
    if consumer is _MISSING:
        raise SeamBrokenError("faust.App has no _consumer attribute any more (streams/kafka/seam: started_consumer)")
    return consumer


def committed_offset(consumer: Any, tp: Any) -> int | None:
    """The group's committed offset for `tp` as Faust holds it (`Consumer._committed_offset`, loaded
    from the broker at assignment, Kafka's "next offset"; 0 and unknown are None): every record
    before it was folded, by this worker or whoever held `tp` before."""
    try:
        return consumer._committed_offset.get(tp)  # noqa: SLF001
    except AttributeError as exc:
        raise SeamBrokenError("faust's Consumer lost _committed_offset (streams/kafka/seam: committed_offset)") from exc


def committed_position(consumer: Any, tp: Any) -> int | None:
    """The next offset the worker will commit for `tp`, from Faust's in-memory books: the last
    commit (`Consumer._committed_offset`, Kafka's "next offset"), or before the first commit the
    last read offset + 1 (`Consumer._read_offset`). None when neither is known yet."""
    try:
        committed = consumer._committed_offset.get(tp)  # noqa: SLF001
        if committed is None and (read := consumer._read_offset.get(tp)) is not None:  # noqa: SLF001
            committed = read + 1
    except AttributeError as exc:
        raise SeamBrokenError(f"faust's Consumer lost {exc.name or 'an offset map'} "
                              "(streams/kafka/seam: committed_position)") from exc
    return committed


def never_committed(committed: Mapping[Any, int | None], is_changelog: Callable[[Any], bool]) -> list[Any]:
    """The stream partitions (not changelogs) whose committed offset is none, or 0: those aiokafka's
    `seek_to_committed` leaves where the fetcher happens to be."""
    return [tp for tp, offset in committed.items() if not offset and not is_changelog(tp)]


@relies_on(("aiokafka.consumer.consumer:AIOKafkaConsumer.seek_to_committed", "f6cd85c8b70a4ccf"))
async def seek_to_committed_or_beginning(consumer: Any, is_changelog: Callable[[Any], bool]) -> Mapping[Any, int]:
    """aiokafka's `seek_to_committed`, and the stream partitions nothing was committed for yet to
    their first offset (what "committed" means for them with `auto_offset_reset="earliest"`):
    aiokafka seeks only where the committed offset is above 0. The committed offsets, as aiokafka
    returns them.

    The first offsets are asked for, then sought to (`seek` sets the position at once), rather
    than `seek_to_beginning`: that leaves the position unset until the fetcher resets it, and
    Faust's stall detector (`verify_event_path`) reads the position of every assigned partition,
    which aiokafka asserts is set (it crashed a worker mid-rebalance)."""
    committed = await consumer.seek_to_committed()
    rewind = never_committed(committed, is_changelog)
    if rewind:
        firsts = await consumer.beginning_offsets(rewind)
        assigned = consumer.assignment()  # a rebalance may have moved some while we asked
        for tp, offset in firsts.items():
            if tp in assigned:
                consumer.seek(tp, offset)
    return committed


@relies_on(("faust.transport.consumer:Consumer.perform_seek", "0e8c130ff4b0afd8"),
           ("faust.transport.consumer:ThreadDelegateConsumer.seek_to_committed", "f1d483b861b0328b"),
           ("faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.seek_to_committed", "775ab0adc4b052ab"),
           ("faust.transport.drivers.aiokafka:AIOKafkaConsumerThread._ensure_consumer", "ff4a4c693b7ec63f"),
           ("faust.transport.consumer:Consumer._is_changelog_tp", "88867d75cfe9aecf"))
class RewindingConsumer(AIOKafkaConsumer):
    """Faust's aiokafka consumer, whose seek back to the committed offsets also rewinds the stream
    partitions nothing was committed for yet (`seek_to_committed_or_beginning`).

    Faust "seeks to committed" after every recovery and whenever records arrive while its flow
    is stopped (`Consumer.perform_seek`), to re-read what a rebalance dropped from its queues.
    On a partition never committed, aiokafka left the fetch position past the dropped records,
    and Faust, which counts the first record it then sees as the start (read offset none),
    committed beyond them: they were never folded. Seen with two workers when webhooks arrived
    while the first one was rebalancing for the second one's join
    (tests/e2e/test_console_many_workers.py: partition 2's offset 0 never folded, lag 0). The
    folds are idempotent: re-reading from the beginning is harmless."""

    async def seek_to_committed(self) -> Mapping[Any, int]:
        if self.app.conf.consumer_auto_offset_reset != "earliest":
            return await super().seek_to_committed()
        thread = self._thread
        return await thread.call_thread(seek_to_committed_or_beginning, thread._ensure_consumer(),  # noqa: SLF001
                                        self._is_changelog_tp)


class RewindingTransport(AIOKafkaTransport):
    """Faust's aiokafka transport, creating `RewindingConsumer`s."""

    Consumer = RewindingConsumer


@relies_on(("faust.app.base:App._new_transport", "42db531312dd776f"))
def install_transport(app: Any, transport: type[AIOKafkaTransport] = RewindingTransport) -> None:
    """Give `app` hooklog's transport (what `App._new_transport` builds, with this class), through
    the public `app.transport` setter; before anything asked for `app.transport`."""
    app.transport = transport(app.conf.broker_consumer, app)
