"""floor/seam/aiokafka_coordinator.py on a real group: a member's answered heartbeats and rejoins
move `last_heard`, as sent; nothing else does (the digests are checked in test_pins.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.group_coordinator import GroupCoordinator

from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from streams.kafka.seam import install_contact_clock, last_heard, stop_consumer


@pytest.mark.unit
def test_installing_twice_wraps_once() -> None:
    install_contact_clock()
    wrapped = GroupCoordinator._do_heartbeat
    install_contact_clock()
    assert GroupCoordinator._do_heartbeat is wrapped and getattr(wrapped, "hooklog_contact_clock", False)
    assert wrapped.__wrapped__.__name__ == "_do_heartbeat"  # type: ignore[attr-defined]


@pytest.mark.kafka
async def test_a_members_join_and_heartbeats_move_last_heard(own_topics: None, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    install_contact_clock()
    group = f"contact-{uuid.uuid4().hex[:8]}"
    assert last_heard(group) is None
    before = time.monotonic()
    consumer = AIOKafkaConsumer(settings.topic("raw"), bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=group, session_timeout_ms=6000, heartbeat_interval_ms=500)
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=200)
        joined = last_heard(group)
        assert joined is not None and before <= joined <= time.monotonic()  # the rejoin that assigned it
        while (heard := last_heard(group)) == joined and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the next answered heartbeat (every 0.5 s)
        assert heard is not None and heard > joined
    finally:
        await stop_consumer(consumer)
    assert last_heard(f"other-{group}") is None
