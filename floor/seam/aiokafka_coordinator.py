"""When a consumer group's member last heard from its group coordinator, which aiokafka keeps to itself.

A member cut off from the brokers keeps its assignment in memory: aiokafka's
`GroupCoordinator._heartbeat_routine` holds the time of the last answered heartbeat in a local
(`last_ok_heartbeat`) and only marks the coordinator dead after the session timeout, while the
broker, which heard nothing either, has already handed the member's partitions to others after
that same timeout. A worker that answered from those partitions past that point answers from a
state others are moving on without it. `install_contact_clock` wraps the two calls whose success
proves the coordinator still counts the member in — an answered heartbeat
(`_do_heartbeat` returning True, a rebalance in progress included) and a completed rejoin
(`_do_rejoin_group` returning True) — and records, per group id, the monotonic time each *was
sent*: the broker received it after that, so its session timer for the member cannot expire
before `last_heard(group) + session timeout`. The worker's readiness (streams/api/readiness.py)
says `cut_off` past that.

The aiokafka consumer runs in Faust's consumer thread: a float stored in a dict is read safely
from the event loop's thread. tests/floor/seam/test_aiokafka_coordinator.py checks the wrap on
a real group; the digests below fail loudly when an upgrade changes the wrapped calls.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from aiokafka.consumer.group_coordinator import GroupCoordinator

from floor.seam.pins import relies_on

_HEARD: dict[str, float] = {}  # group id -> monotonic time of the last proof of membership, as sent


def last_heard(group_id: str) -> float | None:
    """The monotonic time the newest answered heartbeat or rejoin of `group_id` was sent (None: never)."""
    return _HEARD.get(group_id)


def _recording(call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    async def recorded(self: GroupCoordinator, *args: Any, **kwargs: Any) -> Any:
        sent = time.monotonic()
        done = await call(self, *args, **kwargs)
        if done is True:
            _HEARD[self.group_id] = max(sent, _HEARD.get(self.group_id, sent))
        return done

    recorded.hooklog_contact_clock = True  # type: ignore[attr-defined]
    return recorded


@relies_on(
    # True: the coordinator answered (NoError, or RebalanceInProgress: still a member); False: not
    ("aiokafka.consumer.group_coordinator:GroupCoordinator._do_heartbeat", "dc1d6632aaa68e96"),
    # the routine calls it every heartbeat interval and keeps its own clock in a local
    ("aiokafka.consumer.group_coordinator:GroupCoordinator._heartbeat_routine", "61d01028952239d0"),
    # True once JoinGroup and SyncGroup succeeded and the assignment was taken
    ("aiokafka.consumer.group_coordinator:GroupCoordinator._do_rejoin_group", "3cb016c98a087a71"),
)
def install_contact_clock() -> None:
    """Wrap GroupCoordinator's heartbeat and rejoin (once per process) to record `last_heard`."""
    for name in ("_do_heartbeat", "_do_rejoin_group"):
        call = getattr(GroupCoordinator, name)
        if not getattr(call, "hooklog_contact_clock", False):
            setattr(GroupCoordinator, name, _recording(call))
