"""The gate's per-source buckets from the settings (the buckets themselves: tests/floor/test_ratelimit.py)."""

from __future__ import annotations

import pytest

from floor.settings import DEFAULT_RATE_LIMIT, RateLimit, Settings
from ingest.gateway.ratelimit import GateLimits, source_buckets
from schemas.errors import ConfigError
from tests.conftest import ManualClock

pytestmark = pytest.mark.unit


def test_every_source_has_a_bucket_from_its_own_limit_the_star_or_the_default(manual_clock: ManualClock) -> None:
    clock = manual_clock
    settings = Settings(rate_limits={"koywe": {"rate": 5}, "*": {"rate": 50, "burst": 7}})
    buckets = source_buckets(settings, ["koywe", "kuenta", "acme"], clock)
    assert (buckets["koywe"].rate, buckets["koywe"].burst) == (5, 10)  # burst defaults to twice the rate
    assert (buckets["kuenta"].rate, buckets["kuenta"].burst) == (50, 7)
    assert (buckets["acme"].rate, buckets["acme"].burst) == (50, 7)
    plain = source_buckets(Settings(), ["koywe"], clock)["koywe"]
    assert (plain.rate, plain.burst) == (DEFAULT_RATE_LIMIT.rate, DEFAULT_RATE_LIMIT.capacity) == (1000, 2000)


def test_a_limit_for_no_source_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'koyew'.*koywe"):
        GateLimits(Settings(rate_limits={"koyew": {"rate": 5}}), ["koywe"])
    GateLimits(Settings(rate_limits={"kuenta": {"rate": 5}}), ["koywe"])  # built in, merely off: fine


@pytest.mark.parametrize("bad", [{"rate": 0}, {"rate": -3}, {"rate": 5, "burst": 0}, {"rate": 5, "bust": 9}, {}])
def test_a_malformed_limit_is_refused_at_load(bad: dict) -> None:
    with pytest.raises(ValueError):
        RateLimit.model_validate(bad)
