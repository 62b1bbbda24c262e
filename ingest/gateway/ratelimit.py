"""Rate limits of the webhook gate: token buckets per source, and failed signatures per address.

- Per source (`HOOKLOG_RATE_LIMITS`): checked before the body is read, so a retry storm is
  refused for the price of a header parse. Only requests that prove to be the source's count:
  one refused before its signature verified (401, a body that is not JSON, too large, too slow)
  gives its token back, so traffic without the secret cannot use up a provider's limit.
- Failed signatures per client address (`HOOKLOG_FAILED_SIGNATURE_RATE` / `_BURST`): a request
  can only fail its signature once its body was read and verified, so this limit is applied
  then, to failures only. Within it a failure is a plain 401; beyond it a 429 with the same
  reason and a Retry-After. A validly signed request from that address is still accepted: the
  limit slows a prober down (and shows it in the metrics), it never locks an address out.

The buckets themselves (and the failure limiter, shared with the worker's tokens) live in
floor/ratelimit.py. Each ingest process has its own buckets (see docs/security.md for N processes
and hosts).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from floor.ratelimit import Clock, FailureLimiter, TokenBucket
from floor.settings import EVERY_SOURCE, RateLimit, Settings
from schemas.errors import ConfigError
from schemas.sources import BUILT_IN

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
