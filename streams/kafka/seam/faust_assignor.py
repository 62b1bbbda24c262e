"""What the query routing and readiness read of faust-streaming's group assignment.

tests/streams/kafka/test_seam_faust_assignor.py has one test per item below that fails loudly
when an upgrade changes it. (A key is read from one partition's store with
`faust_tables.read_in_partition`.)

1. `owner_urls`: the group's current *active* owner of each changelog partition, as each
   member's advertised URL (`conf.canonical_url`): `PartitionAssignor.tables_metadata()`, the
   `changelog_distribution` the group leader computes and every member receives with its
   assignment (`{url: {changelog_topic: [partitions]}}`, standbys not included).
2. `faust_status`: `app.tables.recovery.completed` (set once the first recovery ended),
   `.in_recovery` (a recovery runs now) and `app.rebalancing` (set when the consumer starts
   rejoining, cleared when the recovery that follows ends).
"""

from __future__ import annotations

from typing import Any


def owner_urls(app: Any, changelog_topic: str) -> dict[int, str]:
    """partition -> advertised URL of the member holding it as active; {} before any assignment."""
    try:
        distribution = app.assignor.tables_metadata()
    except Exception:  # noqa: BLE001 - no assignor/assignment yet: nobody is known
        return {}
    owners: dict[int, str] = {}
    for url, topics in distribution.items():
        for partition in topics.get(changelog_topic, ()):
            owners[int(partition)] = str(url)
    return owners



def faust_status(app: Any) -> str:
    """`ready`, or what the worker is busy with: `starting`, `rebalancing`, `recovering`."""
    recovery = app.tables.recovery
    if not recovery.completed.is_set():
        return "starting"
    if app.rebalancing:
        return "rebalancing"
    return "recovering" if recovery.in_recovery else "ready"
