"""The clearing feed: projection states in, `clear` actions out, for alerts whose condition
cleared (projections/clearing.py says which).

One consumer group (`<prefix>-alert-clearing`) over the projection topics that have rules. A
state is parsed only when its bytes hold a rule's marker (most never do); each `clear` it implies
is produced to `<prefix>.alert-actions.v1` keyed by its alert id, and the states are committed
once those are acknowledged. A clear's id is a function of (alert, clearing event), so the
repeats a republished state brings are taken once by the fold; the recent ones are not even sent.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from projections.clearing import RULES, clear_actions, may_clear
from projections.registry import PROJECTIONS
from schemas.jsondump import plain_json
from schemas.lifecycle import lifecycle_key
from floor.settings import Settings
from floor.kafka.names import clearing_group
from streams.notify.consumer import consume_producing, group_consumer, log, new_producer

RECENT = 16_384  # clear ids remembered, so a republished state does not send its clears again


class ClearingFeed:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.projections = {settings.topic(p.name): p for p in PROJECTIONS if p.name in RULES}
        self.out = settings.topic("alert-actions")
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.producer: AIOKafkaProducer | None = None

    async def run(self) -> None:
        self.recent.clear()  # a new run re-sends what a failed one may not have got acknowledged
        self.producer = new_producer(self.settings)
        await consume_producing(group_consumer(self.settings, list(self.projections), clearing_group(self.settings)), self.producer, self.handle)

    async def handle(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        projection = self.projections[tp.topic]
        assert self.producer is not None
        sent = []
        for record in records:
            if not record.value or not may_clear(projection.name, record.value):
                continue
            try:
                state = projection.state_type.model_validate_json(record.value)
            except ValidationError as exc:
                log.warning("clearing_state_unreadable", topic=tp.topic, error=str(exc).splitlines()[0])
                continue
            for action in clear_actions(projection.name, state):
                if action.id in self.recent:
                    continue
                sent.append(await self.producer.send(self.out, plain_json(action), key=lifecycle_key(action.alertId)))
                self.recent[action.id] = None
                if len(self.recent) > RECENT:
                    self.recent.popitem(last=False)
        await asyncio.gather(*sent)
