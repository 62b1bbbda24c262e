"""faust-streaming's producer and consumer: sending after the buffered changelog writes, and
the in-memory offsets the lag reader shows."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from streams.kafka.seam.pins import SeamBrokenError, relies_on

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
