"""A generation's alert lifecycles: the replayed alerts and the operators' actions, folded afresh.

The live lifecycles (`<prefix>.lifecycle.v1`) are a fold of the alerts and actions topics
(`projections.lifecycle`). Actions are not derived from the raw log (an operator acknowledged,
a silence ended), so a generation's lifecycles fold *its* alerts with the actions topic as it
stands when the generation finishes. They are written once, at the end: compacted, one record
per alert id, in the partition its key hashes to on the alerts topic (as the live alerts,
actions and lifecycles).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from floor.kafka.metadata import topic_partitions
from floor.kafka.partitioning import partition_for
from floor.kafka.topic_reader import read_range
from floor.logs import get_logger
from floor.settings import Settings
from projections.lifecycle import Input, fold_lifecycles, input_key, parse_input
from schemas.jsondump import plain_json
from schemas.lifecycle import AlertLifecycle
from streams.replay.model import Change, Replayed

log = get_logger("replay")

#: Change.name of a lifecycle record (its generation topic is `<prefix>.lifecycle.v1.g<N>`).
LIFECYCLE = "lifecycle"


async def read_inputs(settings: Settings, topic_kind: str) -> list[Input]:
    """Every readable record of the alerts (`topic_kind` "alerts") or the actions ("actions")
    topic, to its end now; an unreadable one is logged and skipped, as the live folder does."""
    topic = settings.topic("alerts" if topic_kind == "alerts" else "alert-actions")
    found: list[Input] = []
    async for batch in read_range(settings, topic, timeout_s=600):
        for record in batch:
            try:
                found.append(parse_input(topic_kind, record.value))
            except ValidationError as exc:
                log.warning("lifecycle_input_unreadable", topic=topic, offset=record.offset,
                            error=str(exc).splitlines()[0])
    return found


def lifecycle_changes(states: Iterable[AlertLifecycle], partitions: int) -> list[Change]:
    """The lifecycles as generation records, each in its alert id's partition."""
    return [Change(LIFECYCLE, partition_for(state.alertId, partitions), state.alertId, plain_json(state))
            for state in sorted(states, key=lambda s: s.alertId)]


async def generation_lifecycles(settings: Settings, replayed: Replayed) -> list[Change]:
    """The lifecycles of the generation's alerts: each alert, then the actions on it that the
    actions topic holds now. An action on an alert the generation does not hold (one outside a
    `--from`/`--until` slice, or another worker's part of a spread replay) is not this
    generation's to fold: each worker of a spread replay writes its own alerts' lifecycles."""
    alerts = [parse_input("alerts", value) for value in replayed.alert_json().values()]
    ids = {alert.id for alert in alerts}
    actions = [a for a in await read_inputs(settings, "actions") if input_key(a) in ids]
    partitions = len(await topic_partitions(settings, settings.topic("alerts")) or await topic_partitions(
        settings, settings.topic("raw")))  # no alerts topic yet: it will be made with the raw log's count
    return lifecycle_changes(fold_lifecycles([*alerts, *actions]).values(), partitions)
