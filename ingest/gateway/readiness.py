"""Honest readiness: a broker answered a Metadata request just now, not "we connected once".

The producer stays "started" while the broker is away (it reconnects by itself), so its state
cannot tell a load balancer to stop sending. A short-lived client bootstraps (ApiVersions and
Metadata round trips) with a short deadline; the answer is cached so probes stay cheap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.settings import Settings


class BrokerProbe:
    """`await probe.ready()`: True iff the bootstrap servers answered within `timeout_s`."""

    def __init__(self, cluster: Settings, *, timeout_s: float = 2.0, cache_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._cluster = cluster
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._clock = clock
        self._checked_at = float("-inf")
        self._last = False
        self._lock = asyncio.Lock()

    async def ready(self) -> bool:
        if self._clock() - self._checked_at < self._cache_s:
            return self._last
        async with self._lock:  # one check at a time; the others reuse its answer
            if self._clock() - self._checked_at >= self._cache_s:
                self._last = await self._check()
                self._checked_at = self._clock()
        return self._last

    async def _check(self) -> bool:
        client = clients.client(self._cluster, client_id="hooklog-ready",
                                request_timeout_ms=max(1, int(self._timeout_s * 1000)))
        try:
            await asyncio.wait_for(client.bootstrap(), self._timeout_s)
            return True
        except (KafkaError, OSError, asyncio.TimeoutError):
            return False
        finally:
            try:
                await client.close()
            except (KafkaError, OSError):
                pass
