"""Rate limits of the webhook gate: token buckets per source, and failed signatures per address.

A bucket holds up to `burst` tokens and gains `rate` per second; a request takes one. The
clock is a parameter (monotonic seconds), so the arithmetic is tested without waiting.

- Per source (`HOOKLOG_RATE_LIMITS`): checked before the body is read, so a retry storm is
  refused for the price of a header parse. Only requests that prove to be the source's count:
  one refused before its signature verified (401, a body that is not JSON, too large, too slow)
  gives its token back, so traffic without the secret cannot use up a provider's limit.
- Failed signatures per client address (`HOOKLOG_FAILED_SIGNATURE_RATE` / `_BURST`): a request
  can only fail its signature once its body was read and verified, so this limit is applied
  then, to failures only. Within it a failure is a plain 401; beyond it a 429 with the same
  reason and a Retry-After. A validly signed request from that address is still accepted: the
  limit slows a prober down (and shows it in the metrics), it never locks an address out.

Each ingest process has its own buckets (see docs/security.md for N processes and hosts).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from floor.settings import EVERY_SOURCE, RateLimit, Settings
from schemas.errors import ConfigError
from schemas.sources import BUILT_IN

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
    """Failed signatures per client address, each address a small bucket; bounded memory."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic,
                 max_addresses: int = MAX_TRACKED_ADDRESSES) -> None:
        self._rate, self._burst, self._clock, self._max = rate, burst, clock, max_addresses
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def failed(self, address: str) -> float:
        """Count one failed signature from `address`: 0.0 while within the limit (answer 401),
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


def check_limit_names(settings: Settings, sources: Iterable[str]) -> None:
    """A name in HOOKLOG_RATE_LIMITS that is no source is a typo: say so at start."""
    known = {*sources, *BUILT_IN, EVERY_SOURCE}
    unknown = sorted(set(settings.rate_limits) - known)
    if unknown:
        raise ConfigError(f"HOOKLOG_RATE_LIMITS names {', '.join(map(repr, unknown))}, which is no source; "
                          f"sources: {', '.join(sorted(known - {EVERY_SOURCE}))} (\"*\" sets the default)")


def source_buckets(settings: Settings, sources: Iterable[str], clock: Clock = time.monotonic) -> dict[str, TokenBucket]:
    """One bucket per source, from its HOOKLOG_RATE_LIMITS entry or the default."""
    names = list(sources)
    check_limit_names(settings, names)

    def bucket(limit: RateLimit) -> TokenBucket:
        return TokenBucket(limit.rate, limit.capacity, clock)

    return {name: bucket(settings.rate_limit(name)) for name in names}


class GateLimits:
    """What the webhook gate limits with: a bucket per source and the failure limiter."""

    def __init__(self, settings: Settings, sources: Iterable[str], clock: Clock = time.monotonic) -> None:
        self.sources = source_buckets(settings, sources, clock)
        self.failures = FailureLimiter(settings.failed_signature_rate, settings.failed_signature_burst, clock)
