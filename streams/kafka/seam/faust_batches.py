"""Faust's `Stream.take_events`, except that a batch is acked only once the loop body finished it.

Faust acks a taken batch in a `finally`: when the body raises, the generator is closed and every
event of the batch is acked anyway, the crashed agent is restarted (not the worker), and the
commit timer commits the acked offsets within a second. A batch that failed to reach its table,
changelog or projection topic was then lost for good, and so were the neighbours that shared it
(issue: a state over the broker's record limit took 7 of 10 ordinary orders with it).

`take_acked` is the same buffering (a processor fills the buffer while the stream is consumed
passively, `max_` events or `within` seconds a batch) with one change: the events are acked
after the body asks for the next batch, never when the generator is closed or thrown into. An
unacked offset is never committed (Faust commits up to the first unacked offset of each
partition, shutdown included), so a failed batch is folded again by whoever owns its partition
next.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from mode.utils.futures import notify

from floor.seam.pins import relies_on


@relies_on(("faust.streams:Stream.take_events", "607d48aead118ba8"),
           ("faust.streams:Stream._enable_passive", "64da8ce9f729e30e"),
           ("faust.streams:Stream.add_processor", "3bb6686bc255f121"),
           ("faust.streams:Stream.ack", "32d7171a89b0931d"))
async def take_acked(stream: Any, max_: int, within: float) -> AsyncIterator[Sequence[Any]]:
    """Batches of at most `max_` events (or what came within `within` s), each acked only when
    the `async for` body that received it asks for the next one."""
    buffer: list[Any] = []
    events: list[Any] = []
    buffer_full = asyncio.Event()
    buffer_consumed = asyncio.Event()
    stream_enable_acks: bool = stream.enable_acks
    buffer_consuming: asyncio.Future | None = None
    channel_it = aiter(stream.channel)

    async def add_to_buffer(value: Any) -> Any:
        nonlocal buffer_consuming
        try:
            if buffer_consuming is not None:
                try:
                    await buffer_consuming
                finally:
                    buffer_consuming = None
            buffer.append(value)
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_acked found no current event")
            events.append(event)
            if len(buffer) >= max_:
                buffer_full.set()
                buffer_consumed.clear()
                await stream.wait(buffer_consumed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - as Faust's own take: the stream crashes
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # the events are acked here, once their batch is done
    stream.add_processor(add_to_buffer)
    stream._enable_passive(channel_it)  # noqa: SLF001 - how take_events consumes the channel
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(buffer_full, timeout=within)
            if not buffer:
                continue
            buffer_consuming = stream.loop.create_future()
            batch = list(events)
            yield batch  # closed or thrown into here: the batch stays unacked, never committed
            for event in batch:
                await stream.ack(event)
            buffer.clear()
            events.clear()
            notify(buffer_consuming)
            buffer_full.clear()
            buffer_consumed.set()
    finally:
        stream.enable_acks = stream_enable_acks
        stream._processors.remove(add_to_buffer)  # noqa: SLF001 - as take_events undoes add_processor
