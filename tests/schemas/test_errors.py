"""Error messages said once: the "cannot reach Kafka" one names where, why and what to check."""

from __future__ import annotations

import pytest

from schemas.errors import BrokerUnavailableError

pytestmark = pytest.mark.unit


def test_the_one_cannot_reach_kafka_message() -> None:
    plain = str(BrokerUnavailableError.unreachable("10.0.0.5:9092"))
    assert plain.startswith("cannot reach Kafka at 10.0.0.5:9092; ") and "KAFKA_BOOTSTRAP_SERVERS" in plain
    caused = str(BrokerUnavailableError.unreachable("b:9092", OSError("refused"), doing="create topics"))
    assert caused.startswith("cannot create topics at b:9092 (OSError('refused')); is the broker up")
