"""The names hooklog gives what it keeps in Kafka and on disk, each spelled in one place.

Topics are `<prefix>.<name>.v1` (`Settings.topic`, shared with ingest). The worker is the Faust
app `<prefix>-worker`: that is also its consumer group, its tables' changelogs are
`<prefix>-worker-<table>-changelog` (Faust's rule, `Table.changelog_topic`) and its RocksDB
stores live in `<data_dir>/<prefix>-worker`, built in the store epoch `<prefix>-worker-epoch`
names. Replay generations add `.g<N>` to each topic name and
keep their manifests in `<data_dir>/replay`.
"""

from __future__ import annotations

from pathlib import Path

from floor.seam.pins import relies_on
from floor.settings import Settings


def app_id(settings: Settings) -> str:
    """The Faust app id of the worker."""
    return f"{settings.topic_prefix}-worker"


def worker_group(settings: Settings) -> str:
    """The worker's consumer group: Faust uses the app id."""
    return app_id(settings)


@relies_on(("faust.tables.base:Collection._changelog_topic_name", "f341fe97037b4ac8"))
def changelog_topic_name(app_id: str, table: str) -> str:
    """The changelog topic Faust restores `table` from (`Collection._changelog_topic_name`;
    pinned, so a Faust upgrade that renames changelogs fails tests/streams/kafka/test_seam.py)."""
    return f"{app_id}-{table}-changelog"


def changelog_topic(settings: Settings, table: str) -> str:
    """The changelog topic Faust restores `table` from (Faust's rule: changelog_topic_name)."""
    return changelog_topic_name(app_id(settings), table)


@relies_on(("faust.assignor.leader_assignor:LeaderAssignor", "c3f79f79c3ef88d6"))
def leader_topic(settings: Settings) -> str:
    """Faust's own one-partition topic of the worker group (`LeaderAssignor._leader_topic_name`):
    created by hooklog beforehand, so it gets hooklog's replication like every other topic."""
    return f"{app_id(settings)}-__assignor-__leader"


def epoch_topic(settings: Settings) -> str:
    """The one-record compacted topic naming the current store epoch (floor/kafka/epoch.py)."""
    return f"{app_id(settings)}-epoch"


def store_dir(settings: Settings) -> Path:
    """The worker's local table stores (Faust's datadir)."""
    return settings.data_dir / app_id(settings)


def dlq_redrive_group(settings: Settings) -> str:
    """The consumer group whose offsets record which dead letters were redriven."""
    return f"{settings.topic_prefix}-dlq-redrive"


def generation_topic(settings: Settings, name: str, generation: int) -> str:
    """Replay generation `generation`'s topic for a projection (or "alerts")."""
    return f"{settings.topic(name)}.g{generation}"


def replay_dir(settings: Settings) -> Path:
    """Where replay keeps its generation manifests."""
    return settings.data_dir / "replay"


def lifecycle_group(settings: Settings) -> str:
    """The group folding alerts and their actions into lifecycles (streams/notify/lifecycle.py)."""
    return f"{settings.topic_prefix}-lifecycle"


def clearing_group(settings: Settings) -> str:
    """The group reading projection states for alerts whose condition cleared (streams/notify/clearing.py)."""
    return f"{settings.topic_prefix}-alert-clearing"


def notify_group(settings: Settings, sink: str) -> str:
    """One group per notification sink: a dead sink delays only itself (streams/notify/notifier.py)."""
    return f"{settings.topic_prefix}-notify-{sink}"


def notify_redrive_group(settings: Settings) -> str:
    """The group whose offsets record which dead-lettered notifications were resent."""
    return f"{settings.topic_prefix}-notify-redrive"
