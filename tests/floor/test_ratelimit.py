"""Token buckets and the failure limiter with an injected clock: no waiting, exact."""

from __future__ import annotations

import pytest

from floor.ratelimit import FailureLimiter, TokenBucket, address_key, retry_after
from tests.conftest import ManualClock

pytestmark = pytest.mark.unit


def test_a_bucket_starts_full_serves_its_burst_then_says_how_long_to_wait(manual_clock: ManualClock) -> None:
    clock = manual_clock
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)  # one token takes 1 / rate seconds
    assert bucket.take() == pytest.approx(0.5)  # a refusal takes nothing
    clock.advance(0.25)
    assert bucket.take() == pytest.approx(0.25)
    clock.advance(0.25)
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.5)


def test_a_bucket_refills_at_its_rate_up_to_its_burst_only(manual_clock: ManualClock) -> None:
    clock = manual_clock
    bucket = TokenBucket(rate=10.0, burst=5, clock=clock)
    for _ in range(5):
        bucket.take()
    clock.advance(0.3)
    assert bucket.tokens() == pytest.approx(3.0)
    clock.advance(3600)
    assert bucket.tokens() == 5.0
    assert sum(1 for _ in range(20) if bucket.take() == 0.0) == 5


def test_a_clock_that_goes_back_adds_nothing_and_give_back_is_capped(manual_clock: ManualClock) -> None:
    clock = manual_clock
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock)
    bucket.take()
    bucket.take()
    clock.advance(-50)
    assert bucket.tokens() == 0.0
    bucket.give_back()
    bucket.give_back()
    bucket.give_back()
    assert bucket.tokens() == 2.0


def test_sustained_load_gets_exactly_the_rate(manual_clock: ManualClock) -> None:
    clock = manual_clock
    bucket = TokenBucket(rate=100.0, burst=10, clock=clock)
    granted = 0
    for _ in range(10_000):  # 1000 requests per simulated second for 10 s
        clock.advance(0.001)
        granted += bucket.take() == 0.0
    assert granted == pytest.approx(10 + 100 * 10, abs=1)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 5), (1, 0)])
def test_a_bucket_refuses_nonsense(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert [retry_after(w) for w in (0.0001, 0.5, 1.0, 1.01, 59.2)] == ["1", "1", "1", "2", "60"]


def test_failures_are_limited_per_address_and_refill(manual_clock: ManualClock) -> None:
    clock = manual_clock
    limiter = FailureLimiter(rate=0.5, burst=3, clock=clock)
    assert [limiter.failed("203.0.113.7") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.failed("203.0.113.7") == pytest.approx(2.0)
    assert limiter.failed("198.51.100.2") == 0.0  # another address has its own bucket
    clock.advance(2.0)
    assert limiter.failed("203.0.113.7") == 0.0  # slowed to one failure per 2 s, never shut out
    assert limiter.failed("203.0.113.7") > 0


def test_one_ipv6_slash_64_is_one_address_and_mapped_ipv4_is_ipv4(manual_clock: ManualClock) -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.9") == "192.0.2.9" and address_key("192.0.2.9") == "192.0.2.9"
    limiter = FailureLimiter(rate=1, burst=1, clock=manual_clock)
    limiter.failed("2001:db8:1:2::1")
    assert limiter.failed("2001:db8:1:2::2") > 0


def test_the_address_table_is_bounded_and_drops_the_least_recent_first(manual_clock: ManualClock) -> None:
    limiter = FailureLimiter(rate=1, burst=1, clock=manual_clock, max_addresses=100)
    for n in range(300):
        limiter.failed(f"10.1.{n // 250}.{n % 250}")
        limiter.failed("10.0.0.1")  # kept recent, so it is never the one dropped
    assert len(limiter) == 100
    assert limiter.failed("10.0.0.1") > 0  # still remembered: still limited
    assert limiter.failed("10.1.0.0") == 0.0  # the oldest was forgotten: a fresh bucket
