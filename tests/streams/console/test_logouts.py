"""Console logouts on the real broker: one worker's logout is seen by another and by a restarted
one at their next check, forgotten after the session's expiry, and without the brokers a session
is never taken as valid."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError
from streams.console.logouts import Logouts
from tests.conftest import ManualClock

pytestmark = pytest.mark.kafka


async def test_a_logout_on_one_worker_ends_the_session_on_every_other_and_after_restarts(
        make_settings: Callable[..., Settings], manual_clock: ManualClock) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    clock = manual_clock
    expires = int(time.time()) + 600
    clock.now = expires - 600
    here, there = Logouts(settings, clock), Logouts(settings, clock)
    try:
        assert not await there.revoked("sid-1")  # read to the (empty) end first: the reader is up
        await here.log_out("sid-1", expires)
        assert await here.revoked("sid-1") and await there.revoked("sid-1")  # no wait: read to the end on each check
        assert not await there.revoked("sid-2")
    finally:
        await here.close()
        await there.close()
    restarted = Logouts(settings, clock)
    try:
        assert await restarted.revoked("sid-1")  # read from the brokers, not from memory
        clock.now = expires + 1
        assert not await restarted.revoked("sid-1")  # past its expiry the cookie is refused anyway: forgotten
    finally:
        await restarted.close()


async def test_without_the_brokers_a_session_is_never_taken_as_not_logged_out(
        make_settings: Callable[..., Settings]) -> None:
    cut_off = Logouts(make_settings(kafka_bootstrap_servers="127.0.0.1:1", produce_timeout_s=1.0))
    try:
        with pytest.raises(BrokerUnavailableError, match="read the console's logouts"):
            await cut_off.revoked("sid-1")
        with pytest.raises(BrokerUnavailableError, match="record the console logout"):
            await cut_off.log_out("sid-1", int(time.time()) + 600)
    finally:
        await cut_off.close()
