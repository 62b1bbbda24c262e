"""What hooklog relies on in aiokafka's private parts, in one place
(tests/floor/seam/test_aiokafka_consumer.py fails loudly when an upgrade changes it).

`stop_consumer`: aiokafka 0.14's fetcher can swallow its own cancellation, and then
`AIOKafkaConsumer.stop()` never returns. When the assignment changes, the fetch routine
(`Fetcher._fetch_requests_routine`) cancels its in-flight requests and awaits each inside
`contextlib.suppress(asyncio.CancelledError)`; a `stop()` that lands in that window cancels the
routine while it is in that `await`, the suppress eats the routine's own CancelledError, and it
loops on (an empty assignment: `asyncio.wait(timeout=fetcher_timeout)` forever), while
`Fetcher.close()` awaits it. That is how `hooklog verify` hung: each catch-up pass re-assigns
the replay consumer (to no partitions when nothing is new) and stops it at once.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

#: a clean stop takes milliseconds; after this the fetch routine is cancelled again
STOP_GRACE_S = 1.0


def fetch_task(consumer: AIOKafkaConsumer) -> asyncio.Task[None] | None:
    """The consumer's background fetch routine (None before `start()`)."""
    fetcher = getattr(consumer, "_fetcher", None)
    return getattr(fetcher, "_fetch_task", None) if fetcher is not None else None


async def stop_consumer(consumer: AIOKafkaConsumer, grace_s: float = STOP_GRACE_S, attempts: int = 10) -> None:
    """`consumer.stop()`, re-cancelling a fetch routine that swallowed the first cancellation.

    The second cancellation reaches the routine in its `asyncio.wait` (it has cleared its pending
    requests by then), where it ends normally, and `stop()` carries on closing the client."""
    stopping = asyncio.ensure_future(consumer.stop())
    for _ in range(attempts):
        done, _pending = await asyncio.wait({stopping}, timeout=grace_s)
        if done:
            return stopping.result()
        task = fetch_task(consumer)
        if task is not None and not task.done():
            task.cancel()
    await stopping
