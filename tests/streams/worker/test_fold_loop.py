"""The fold loop's failure rules (streams/worker/fold_loop.py) and the record-size check at start
(streams/worker/limits.py), without a broker; tests/e2e/test_batch_failures.py injects the real
failures."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from floor.settings import Settings
from schemas.errors import ConfigError
from streams.worker.fold_loop import BACKOFF_FIRST_S, BACKOFF_MAX_S, BatchFailedError, backoff_s, offset_ranges
from streams.worker.health import STALL_S, FoldHealth
from streams.worker.limits import RecordLimitError, check_record_limits, needed_bytes

pytestmark = pytest.mark.unit


class _Message(NamedTuple):
    partition: int
    offset: int


class _Event(NamedTuple):
    message: _Message


def events(*where: tuple[int, int]) -> list[Any]:
    return [_Event(_Message(p, o)) for p, o in where]


def test_a_failed_batch_names_each_partitions_offsets_and_the_cause() -> None:
    failure = BatchFailedError.of(events((1, 40), (0, 7), (1, 42), (0, 9)), ValueError("refused"), 3)
    text = str(failure)
    assert "partition 0 offsets 7-9, partition 1 offsets 40-42" in text
    assert "after 3 attempt(s): ValueError: refused" in text and "Nothing of it was committed" in text
    assert offset_ranges(events((2, 5))) == {2: (5, 5)}


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    assert backoff_s(1, lambda: 1.0) == BACKOFF_FIRST_S
    assert backoff_s(1, lambda: 0.0) == BACKOFF_FIRST_S / 2
    assert backoff_s(3, lambda: 1.0) == BACKOFF_FIRST_S * 4
    assert backoff_s(50, lambda: 1.0) == BACKOFF_MAX_S


def test_health_says_failing_until_a_retry_lands_and_for_good_once_fatal() -> None:
    health = FoldHealth()
    health.failing({0: (3, 9)}, OSError("No space left on device"))
    assert health.reason == "retrying the batch at partition 0 offsets 3-9: OSError: No space left on device"
    health.recovered()
    assert health.reason is None
    health.failed("could not fold")
    health.recovered()
    assert health.reason == "could not fold"


def test_health_says_failing_once_a_delivery_waits_longer_than_the_stall_bound() -> None:
    now = [100.0]
    health = FoldHealth(clock=lambda: now[0])
    health.delivering(lambda: {2: (40, 41)})
    now[0] += STALL_S
    assert health.reason is None  # a slow broker is not yet a stuck one
    now[0] += 1
    assert health.reason == ("the batch at partition 2 offsets 40-41 has waited 16s for the broker to "
                             "acknowledge its writes (see the worker's log and the broker's health)")
    health.delivered()
    assert health.reason is None
    health.failing({0: (1, 1)}, OSError("gone"))
    health.delivering(lambda: {0: (1, 1)})
    now[0] += 60
    assert health.reason is not None and health.reason.startswith("retrying the batch")  # the failure first


def test_the_default_history_limit_fits_the_default_record_limits() -> None:
    settings = Settings(topic_prefix="p")
    check_record_limits(settings, {"p.orders.v1": 1_048_588, "p-worker-orders-changelog": 1_048_588})


def test_a_topic_that_would_refuse_a_full_state_is_named_at_start() -> None:
    settings = Settings(topic_prefix="p")
    with pytest.raises(RecordLimitError, match=r"topic p\.orders\.v1 accepts records of at most 200000 bytes") as caught:
        check_record_limits(settings, {"p.kyc.v1": 1_048_588, "p.orders.v1": 200_000})
    assert f"max.message.bytes={needed_bytes(settings)}" in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_a_history_limit_past_the_producers_request_size_is_refused() -> None:
    with pytest.raises(RecordLimitError, match="lower HOOKLOG_HISTORY_LIMIT to at most"):
        check_record_limits(Settings(topic_prefix="p", history_limit=5000), {})
