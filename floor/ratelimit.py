"""Token buckets, and the failures-per-client-address limiter built on them: one implementation
for every credential a client can guess — ingest's failed signatures (ingest/gateway/ratelimit.py)
and the worker's failed bearer tokens and console logins (streams/api/access.py).

A bucket holds up to `burst` tokens and gains `rate` per second; a request takes one. The
clock is a parameter (monotonic seconds), so the arithmetic is tested without waiting.

A failure limiter counts failures only: within its limit a failure is a plain refusal (401);
beyond it the caller answers 429 with a Retry-After. A request that presents the right
credential from that address is still accepted: the limit slows a prober down (and shows it
in the metrics), it never locks an address out. Each process has its own buckets.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]
MAX_TRACKED_ADDRESSES = 10_000  # failure buckets kept; the least recently failing go first
IPV6_PREFIX = 64  # one IPv6 client usually holds a whole /64, so that is one address here


class TokenBucket:
    """`rate` tokens per second, at most `burst` stored; starts full."""

    __slots__ = ("rate", "burst", "_tokens", "_stamp", "_clock")

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1 (got {rate}, {burst})")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._stamp = float(burst), clock()

    def _refill(self) -> None:
        now = self._clock()
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def take(self) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there will be (and none
        is taken, so a client that waits that long gets one)."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def give_back(self) -> None:
        """Return a token taken for a request that turned out not to count."""
        self._tokens = min(self.burst, self._tokens + 1.0)

    def tokens(self) -> float:
        self._refill()
        return self._tokens


def retry_after(wait_s: float) -> str:
    """A `Retry-After` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))


def address_key(address: str) -> str:
    """What a failure bucket is kept under: the IPv4 address, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return address


class FailureLimiter:
    """Failures (signatures, tokens) per client address, each address a small bucket; bounded memory."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic,
                 max_addresses: int = MAX_TRACKED_ADDRESSES) -> None:
        self._rate, self._burst, self._clock, self._max = rate, burst, clock, max_addresses
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def failed(self, address: str) -> float:
        """Count one failure from `address`: 0.0 while within the limit (answer 401),
        else the seconds until the next failure would be within it (answer 429)."""
        key = address_key(address)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst, self._clock)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()

    def __len__(self) -> int:
        return len(self._buckets)
