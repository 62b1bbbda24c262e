"""Shared factories. Broker fixtures live in tests/kafka_fixtures.py (loaded as a plugin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from schemas.decoding import decode_fact
from schemas.envelope import Envelope, new_envelope
from schemas.history import Fact

pytest_plugins = ["tests.kafka_fixtures"]

T0 = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """A Koywe-style timeStamp `seconds` after T0 (millisecond precision, Z suffix)."""
    moment = T0 + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def koywe_body(event_name: str, order_id: str, seconds: float | None, **extra: Any) -> bytes:
    payload: dict[str, Any] = {"eventName": event_name, "orderId": order_id}
    if seconds is not None:
        payload["timeStamp"] = at(seconds)
    payload.update(extra)
    return orjson.dumps(payload)


@pytest.fixture
def koywe_envelope() -> Callable[..., Envelope]:
    """Factory: an accepted Koywe delivery of `event_name` for `order_id` at T0+seconds."""

    def make(event_name: str, order_id: str = "ord-1", seconds: float | None = 0, **extra: Any) -> Envelope:
        return new_envelope(
            source="koywe", key=order_id, event_name=event_name,
            body=koywe_body(event_name, order_id, seconds, **extra),
            received_at=T0 + timedelta(hours=1),
        )

    return make


@pytest.fixture
def koywe_fact(koywe_envelope: Callable[..., Envelope]) -> Callable[..., Fact]:
    """Factory: the decoded fact of `koywe_envelope(...)`."""

    def make(*args: Any, **kwargs: Any) -> Fact:
        return decode_fact(koywe_envelope(*args, **kwargs))

    return make


class ManualClock:
    """Monotonic seconds that move only when told: rate limits and deadlines without waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def manual_clock() -> ManualClock:
    """A fresh ManualClock (pass it where a `clock`/`monotonic` callable is taken)."""
    return ManualClock()
