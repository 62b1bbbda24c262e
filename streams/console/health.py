"""What the console's home page says about health: ingest, this worker, the broker, fold rate, lag."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

import aiohttp
from prometheus_client import CollectorRegistry

from floor.settings import Settings

PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def metric_total(registry: CollectorRegistry, name: str) -> float:
    """Sum of every sample of one metric family (all label values)."""
    return sum(s.value for family in registry.collect() if family.name == name for s in family.samples
               if s.name in (name, f"{name}_total"))


class FoldRate:
    """Events folded per second over the last samples (fed every few seconds by a timer)."""

    def __init__(self, window: int = 6) -> None:
        self._samples: deque[tuple[float, float]] = deque(maxlen=window)

    def sample(self, total: float, now: float | None = None) -> None:
        self._samples.append((time.monotonic() if now is None else now, total))

    def per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else None


async def ingest_check(settings: Settings) -> Check:
    host = "127.0.0.1" if settings.ingest_host in ("0.0.0.0", "::", "") else settings.ingest_host
    url = f"http://{host}:{settings.ingest_port}/readyz"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)) as session:
            async with session.get(url) as response:
                return Check("ingest", response.status == 200, f"{url} answered {response.status}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Check("ingest", False, f"{url} did not answer: {type(exc).__name__}")


async def broker_check(settings: Settings) -> Check:
    """A TCP connection to each bootstrap server (cheap; the worker's own clients say more in its log)."""
    results = []
    for server in settings.kafka_bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), PROBE_TIMEOUT_S)
            writer.close()
            results.append((server, True))
        except (OSError, TimeoutError, ValueError):
            results.append((server, False))
    ok = all(up for _, up in results)
    return Check("broker", ok, ", ".join(f"{s} {'reachable' if up else 'unreachable'}" for s, up in results))
