"""Operators' actions on an alert (API `POST /alerts/{id}/ack|resolve|silence`, the console's
buttons): checked, then produced to `<prefix>.alert-actions.v1` keyed by the alert id with
acks=all. The caller answers 202 only once the broker acknowledged; the lifecycle folder
(streams/notify/lifecycle.py) applies it moments later.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.errors import AlertActionError, BrokerUnavailableError
from schemas.jsondump import plain_json
from schemas.lifecycle import AlertAction, lifecycle_key, operator_action
from floor.settings import Settings
from schemas.times import parse_time
from streams.notify.consumer import new_producer


def until_of(fields: Mapping[str, object], now: datetime) -> datetime | None:
    """A silence's end from `until` (ISO 8601) or `forSeconds`; AlertActionError when malformed."""
    until, seconds = fields.get("until"), fields.get("forSeconds")
    if until not in (None, ""):
        try:
            return parse_time(until)
        except ValueError as exc:
            raise AlertActionError(f"until: {exc}") from None
    if seconds not in (None, ""):
        try:
            return now + timedelta(seconds=float(seconds))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise AlertActionError(f"forSeconds must be a number of seconds, not {seconds!r}") from None
    return None


class ActionDesk:
    """One producer, started on first use and kept, for every action this process takes."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = new_producer(self.settings)
                try:
                    await producer.start()
                except Exception as exc:  # noqa: BLE001 - aiokafka raises several unrelated types here
                    await producer.stop()
                    raise BrokerUnavailableError.unreachable(self.settings.kafka_bootstrap_servers, exc) from exc
                self._producer = producer
            return self._producer

    async def act(self, alert_id: str, kind: str, fields: Mapping[str, object], *, by: str,
                  nonce: str | None = None) -> AlertAction:
        """Check and send one action; AlertActionError (the caller's 400), BrokerUnavailableError (503)."""
        now = self.clock()
        reason = fields.get("reason")
        action = operator_action(alert_id, kind, by=by, at=now, nonce=nonce or uuid.uuid4().hex,
                                 until=until_of(fields, now), reason=reason if isinstance(reason, str) else None)
        producer = await self.producer()
        try:
            await asyncio.wait_for(producer.send_and_wait(self.settings.topic("alert-actions"), plain_json(action),
                                                          key=lifecycle_key(alert_id)), self.settings.produce_timeout_s)
        except (KafkaError, TimeoutError, OSError) as exc:
            raise BrokerUnavailableError.unreachable(self.settings.kafka_bootstrap_servers, exc,
                                                     doing="record the alert action") from exc
        return action

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
