"""Dead-letter redrive: send dead-lettered records back through the folds after a fix.

Each dead letter holds the raw record's original bytes. Redrive re-routes the original body with
the current code (built-in sources: event name and key found again, e.g. after a routing fix),
keeps the delivery id and receive time, and appends it to the raw topic; the worker folds it like
any record (folds are idempotent, so a record that had been applied changes nothing). Progress is
committed in the consumer group `<prefix>-dlq-redrive`, so a redrive resumes and never sends
the same dead letter twice; a record that fails again is dead-lettered again, with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.names import dlq_redrive_group
from floor.settings import Settings
from schemas.deadletter import decode_dead_letter
from schemas.decoding import route_koywe
from schemas.envelope import Envelope, decode_envelope, encode_envelope
from schemas.errors import BrokerUnavailableError, DecodeError, EnvelopeError
from schemas.jsonbody import load_object
from schemas.kuenta import route_kuenta

ROUTES: dict[str, Callable[[dict], tuple[str, str]]] = {"koywe": route_koywe, "kuenta": route_kuenta}


@dataclass
class RedriveReport:
    redriven: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def rerouted(envelope: Envelope) -> Envelope:
    """The same delivery, routed by the current code (configured sources keep their key)."""
    route = ROUTES.get(envelope.source)
    if route is None:
        return envelope
    event_name, key = route(load_object(envelope.body))
    return envelope.model_copy(update={"event_name": event_name, "key": key})


async def redrive(settings: Settings, *, dry_run: bool = False, idle_timeout_s: float = 5.0) -> RedriveReport:
    """Append every not-yet-redriven dead letter's original record to the raw topic."""
    report = RedriveReport()
    consumer = clients.consumer(
        settings, settings.topic("dlq"),
        group_id=dlq_redrive_group(settings), enable_auto_commit=False, auto_offset_reset="earliest",
    )
    producer = clients.producer(settings, acks="all",
                                enable_idempotence=True)
    try:
        await consumer.start()
        await producer.start()
    except Exception as exc:  # noqa: BLE001 - aiokafka raises several unrelated types here
        await consumer.stop()
        await producer.stop()
        raise BrokerUnavailableError.unreachable(settings.kafka_bootstrap_servers, exc) from exc
    try:
        while batches := await consumer.getmany(timeout_ms=int(idle_timeout_s * 1000), max_records=500):
            for records in batches.values():
                for record in records:
                    await _redrive_one(record.value, settings, producer, report, dry_run)
            if not dry_run:
                await producer.flush()
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return report


async def redrive_values(settings: Settings, values: Iterable[bytes]) -> RedriveReport:
    """Redrive these dead letters (the console's per-record button), each as `redrive` does; the
    group's committed progress is left alone (folds are idempotent, a later run may send it again)."""
    report = RedriveReport()
    producer = clients.producer(settings, acks="all",
                                enable_idempotence=True)
    try:
        await producer.start()
        for value in values:
            await _redrive_one(value, settings, producer, report, dry_run=False)
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailableError.unreachable(settings.kafka_bootstrap_servers, exc) from exc
    finally:
        await producer.stop()
    return report


async def _redrive_one(value: bytes, settings: Settings, producer: AIOKafkaProducer,
                       report: RedriveReport, dry_run: bool) -> None:
    try:
        _, raw = decode_dead_letter(value)
        envelope = rerouted(decode_envelope(raw))
    except (EnvelopeError, DecodeError) as exc:
        report.skipped.append(("?", f"not redrivable: {exc}"))
        return
    if not dry_run:
        await producer.send_and_wait(settings.topic("raw"), encode_envelope(envelope), key=envelope.key.encode())
    report.redriven.append(envelope.id)
