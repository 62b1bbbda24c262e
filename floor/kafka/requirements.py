"""What hooklog needs of each of its topics that exists, beside what the cluster holds, and what
is wrong.

Some differences break a guarantee, so ingest and the worker refuse to start on them
(`TopicConfigError`, raised by floor/kafka/topics.py:ensure_topics): a raw log that is not kept
forever (the log is the system of record; replay and verify read it from the beginning), a
projection topic or changelog that is not compacted (deleted states would be lost, or a
restore would read every state ever written), a co-partitioned topic with another partition
count (a record's partition decides which worker folds it and where its state lives). Others
only weaken one and are warned about: fewer copies or a lower `min.insync.replicas` than the
settings ask, a shorter retention of the year-long topics. `hooklog kafka check` prints all.
"""

from __future__ import annotations

from typing import NamedTuple

from floor.kafka.replication import Replication, TopicSpec
from floor.kafka.topic_state import TopicState
from floor.settings import Settings
from schemas.errors import ConfigError


#: The configs whose difference breaks a guarantee (on the raw log and the compacted topics).
GUARANTEED = ("cleanup.policy", "retention.ms", "retention.bytes")


class TopicConfigError(ConfigError):
    """An existing topic is configured so that a guarantee of hooklog cannot hold."""


class PartitionCountError(TopicConfigError):
    """A topic exists with another partition count than HOOKLOG_PARTITIONS."""


class Finding(NamedTuple):
    """One difference: the topic, which property, what it is, what it must be, whether hooklog
    refuses to start on it, and how to fix it."""

    topic: str
    what: str
    actual: str
    needed: str
    fatal: bool
    fix: str

    @property
    def text(self) -> str:
        return f"topic {self.topic}: {self.what} is {self.actual}, hooklog needs {self.needed}"


def alter(bootstrap: str, topic: str, config: str) -> str:
    """The Kafka command that sets `config` (`name=value`) on `topic`."""
    return f"kafka-configs.sh --bootstrap-server {bootstrap} --alter --entity-type topics --entity-name {topic} --add-config {config}"


def partitions_fix(settings: Settings, topic: str, actual: int) -> str:
    """What to do when a topic and HOOKLOG_PARTITIONS disagree: the count of an existing log cannot change."""
    return (f"either set HOOKLOG_PARTITIONS={actual} (every ingest and worker of this prefix must use the same value), "
            f"or move to a new log with {settings.partitions} partitions: a new HOOKLOG_TOPIC_PREFIX (its topics are "
            f"created with HOOKLOG_PARTITIONS), the old raw topic replayed into it, and the workers fold it from the "
            'beginning (docs/operations.md, "Choosing the partition count")')


def _config_findings(settings: Settings, spec: TopicSpec, state: TopicState, fatal: bool) -> list[Finding]:
    """The spec's configs the topic holds otherwise (fatal ones on the raw log and compacted topics)."""
    found = []
    for name, needed in spec.config.items():
        actual = state.config.get(name)
        if actual is not None and actual != needed:
            found.append(Finding(spec.name, name, actual, needed, fatal and name in GUARANTEED,
                                 f"run `{alter(settings.kafka_bootstrap_servers, spec.name, f'{name}={needed}')}`"))
    return found


def assess(settings: Settings, specs: list[TopicSpec], states: dict[str, TopicState],
           replication: Replication) -> list[Finding]:
    """Every difference between `specs` and the `states` of those that exist."""
    raw = settings.topic("raw")
    found: list[Finding] = []
    for spec in specs:
        state = states.get(spec.name)
        if state is None:
            continue  # created at start, as the spec says
        if state.partitions != spec.partitions:
            needed = f"{spec.partitions} (HOOKLOG_PARTITIONS={settings.partitions})" if spec.partitions == settings.partitions else str(spec.partitions)
            found.append(Finding(spec.name, "partitions", str(state.partitions), needed, True,
                                 partitions_fix(settings, spec.name, state.partitions)))
        compacted = spec.config.get("cleanup.policy") == "compact"
        found += _config_findings(settings, spec, state, fatal=spec.name == raw or compacted)
        if state.replication < replication.factor:
            found.append(Finding(spec.name, "replication factor", str(state.replication), f"{replication.factor}", False,
                                 "add replicas with kafka-reassign-partitions.sh (docs/kafka-cluster.md), or set "
                                 f"HOOKLOG_REPLICATION_FACTOR={state.replication} to accept fewer copies"))
        insync = state.config.get("min.insync.replicas")
        if insync is not None and int(insync) < replication.min_insync:
            found.append(Finding(spec.name, "min.insync.replicas", insync, str(replication.min_insync), False,
                                 f"run `{alter(settings.kafka_bootstrap_servers, spec.name, f'min.insync.replicas={replication.min_insync}')}`"))
    return found


def refusal(findings: list[Finding]) -> TopicConfigError | None:
    """The error ingest and the worker stop with, naming every fatal finding; None if there is none."""
    fatal = [f for f in findings if f.fatal]
    if not fatal:
        return None
    cls = PartitionCountError if all(f.what == "partitions" for f in fatal) else TopicConfigError
    fixes = list(dict.fromkeys(f.fix for f in fatal))  # one partition fix for every topic it concerns
    return cls("; ".join(f.text for f in fatal) + ". To fix: " + "; ".join(fixes)
               + " (`hooklog kafka check` lists every topic)")
