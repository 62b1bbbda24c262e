"""The routing decision from a table of worker states: 503 vs forward vs local (no broker)."""

from __future__ import annotations

import pytest

from streams.api.routing import Forward, Local, Refuse, WorkerView, route

pytestmark = pytest.mark.unit

ME, OTHER = "http://w0:6066", "http://w1:6067"
OWNERS = {0: ME, 1: OTHER, 2: OTHER}


def view(status: str = "ready", active: tuple[int, ...] = (0,), owners: dict[int, str] | None = None) -> WorkerView:
    return WorkerView(status, ME, frozenset(active), OWNERS if owners is None else owners, partitions=3)


# (worker state, partition, forwarded?) -> decision (a Refuse by its reason)
TABLE = [
    (view(), 0, False, Local(0)),                                  # active, ready: answer here (404 allowed)
    (view(), 0, True, Local(0)),                                   # forwarded to the owner: answer here
    (view(), 1, False, Forward(OTHER, 1)),                         # another worker's: forward once
    (view(), 1, True, "not_owner"),                                # forwarded to a non-owner: never a 2nd hop
    (view("starting"), 0, False, "starting"),                      # tables not restored yet
    (view("rebalancing"), 0, False, "rebalancing"),                # assignment changing: not even local
    (view("recovering"), 0, False, "recovering"),                  # a partition is being caught up
    (view("rebalancing"), 1, False, "rebalancing"),                # no forward on a changing assignment
    (view("recovering"), 0, True, "recovering"),
    (view(owners={0: ME}), 2, False, "owner_unknown"),             # nobody holds it as active
    (view(active=(), owners=OWNERS), 0, False, "owner_unknown"),   # named owner but not active here
    (view(active=(), owners={}), 1, False, "owner_unknown"),       # no assignment at all
]


@pytest.mark.parametrize(("state", "partition", "forwarded", "expected"), TABLE)
def test_decision_table(state: WorkerView, partition: int, forwarded: bool, expected: object) -> None:
    decision = route(state, partition, forwarded=forwarded)
    if isinstance(expected, str):
        assert isinstance(decision, Refuse) and decision.reason == expected, decision
        assert decision.retry_after_s >= 1 and decision.detail
    else:
        assert decision == expected


def test_only_a_ready_active_owner_answers_locally_so_only_it_can_give_404() -> None:
    """Every state that is not ready-and-active is a Forward or a Refuse (503), never Local."""
    for status in ("ready", "starting", "rebalancing", "recovering"):
        for active in ((), (0,), (0, 1, 2)):
            for forwarded in (False, True):
                for partition in range(3):
                    decision = route(view(status, active), partition, forwarded=forwarded)
                    if isinstance(decision, Local):
                        assert status == "ready" and partition in active
                    if forwarded:
                        assert not isinstance(decision, Forward)


def test_ready_needs_every_partitions_owner() -> None:
    assert view().ready == "ready"
    assert view(owners={0: ME, 1: OTHER}).ready == "owner_unknown"
    assert view(active=(0, 1, 2), owners={}).ready == "ready"  # a single worker owning everything
    assert view("recovering").ready == "recovering"
