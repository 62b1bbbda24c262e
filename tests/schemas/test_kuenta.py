"""Kuenta wire decoding against the provider doc's own event list and example payload."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from schemas.errors import DecodeError, UnknownEventError
from schemas.history import event_id
from schemas.kuenta import KUENTA_EVENTS, decode_kuenta_event, decode_kuenta_fact
from tests.kuenta_factories import DOC_EXAMPLE, RECEIVED, kuenta_body, kuenta_envelope, kuenta_envelope_of

pytestmark = pytest.mark.unit

# Written out by hand from kuenta-webhooks.es.txt, "Eventos disponibles".
DOC_EVENTS = {
    "credit": {
        "credit.application.created", "credit.application.approved", "credit.application.rejected",
        "credit.disbursed", "credit.completed",
    },
    "payment": {"payment.created", "payment.completed", "payment.failed", "payment.refunded"},
    "document": {"document.created", "document.signed", "document.expired"},
    "validation": {"validation.started", "validation.completed", "validation.failed"},
}
ALL_DOC_EVENTS = sorted(name for names in DOC_EVENTS.values() for name in names)


def test_the_docs_example_payload_decodes() -> None:
    event = decode_kuenta_event(DOC_EXAMPLE)
    assert event.event == "credit.application.created"
    assert event.family == "credit"
    assert event.data.id == "app_123"
    assert event.data.amount == Decimal("5000000")
    assert event.timestamp == datetime(2024, 3, 20, 10, 0, tzinfo=UTC)


def test_undocumented_data_members_are_kept() -> None:
    event = decode_kuenta_event(DOC_EXAMPLE)
    assert event.data.model_extra == {
        "term": 12, "termUnit": "months", "status": "pending", "createdAt": "2024-03-20T10:00:00Z",
    }
    extra = decode_kuenta_event(orjson.dumps({"event": "payment.created", "data": {"id": "p"}, "retry": 2}))
    assert extra.model_extra == {"retry": 2}


def test_the_event_table_is_the_docs() -> None:
    assert {family: set(names) for family, names in KUENTA_EVENTS.items()} == DOC_EVENTS


@pytest.mark.parametrize("name", ALL_DOC_EVENTS)
def test_every_documented_event_decodes_with_its_family(name: str) -> None:
    event = decode_kuenta_event(kuenta_body(name, "x-1", 5, amount=10))
    assert event.event == name and event.data.id == "x-1"
    assert event.family == name.split(".")[0]


@pytest.mark.parametrize(
    "name", ["credit.application.cancelled", "payment.pending", "Payment.Completed", "credit.created", "", "document"]
)
def test_an_undocumented_event_is_unknown(name: str) -> None:
    with pytest.raises(UnknownEventError, match="unknown Kuenta event"):
        decode_kuenta_event(kuenta_body(name))


def test_an_unknown_event_wins_over_a_data_shape_it_may_legitimately_have() -> None:
    with pytest.raises(UnknownEventError):
        decode_kuenta_event(orjson.dumps({"event": "loan.created", "data": {"loanId": "l"}}))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (orjson.dumps({"event": "payment.created", "data": {"amount": 5}}), "data.id"),
        (orjson.dumps({"event": "payment.created", "data": {"id": ""}}), "data.id"),
        (orjson.dumps({"event": "payment.created", "data": {"id": 7}}), "data.id"),
        (orjson.dumps({"event": "payment.created"}), "data"),
        (orjson.dumps({"event": "payment.created", "data": "p-1"}), "data"),
        (orjson.dumps({"event": "payment.created", "data": {"id": "p", "amount": "lots"}}), "data.amount"),
        (orjson.dumps({"event": "payment.created", "data": {"id": "p"}, "timestamp": "yesterday"}), "timestamp"),
        (orjson.dumps({"event": "payment.created", "data": {"id": "p"}, "timestamp": "2024-13-45T99:00:00Z"}), "timestamp"),
    ],
)
def test_invalid_members_are_decode_errors_naming_the_member(body: bytes, where: str) -> None:
    with pytest.raises(DecodeError, match=rf"at {where}:") as info:
        decode_kuenta_event(body)
    assert not isinstance(info.value, UnknownEventError)


@pytest.mark.parametrize("body", [b"[]", b'"credit.completed"', b"42", b"null", b"not json", b"", b'{"event": "payment.created"'])
def test_a_body_that_is_not_a_json_object_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError, match="Kuenta webhook body") as info:
        decode_kuenta_event(body)
    assert not isinstance(info.value, UnknownEventError)


def test_a_missing_event_member_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="no 'event' member"):
        decode_kuenta_event(orjson.dumps({"data": {"id": "p"}}))


def test_messages_never_echo_the_body() -> None:
    secret = "s3cr3t-" + "x" * 300
    for body in (
        orjson.dumps({"event": "payment.created", "data": {"id": "", "card": secret}}),
        orjson.dumps({"event": secret, "data": {"id": "p"}}),
        orjson.dumps([secret]),
    ):
        with pytest.raises(DecodeError) as info:
            decode_kuenta_event(body)
        assert secret not in str(info.value) and "x" * 70 not in str(info.value)


def test_the_fact_carries_identity_and_time() -> None:
    envelope = kuenta_envelope_of(DOC_EXAMPLE)
    fact = decode_kuenta_fact(envelope)
    assert (fact.source, fact.aggregateId, fact.eventName) == ("kuenta", "app_123", "credit.application.created")
    assert fact.occurredAt == datetime(2024, 3, 20, 10, 0, tzinfo=UTC)
    assert fact.receivedAt == RECEIVED and fact.deliveryId == envelope.id
    assert fact.eventId == event_id("kuenta", "credit.application.created", "app_123", "2024-03-20T10:00:00+00:00", DOC_EXAMPLE)


def test_a_redelivery_has_the_same_event_id_and_another_delivery_id() -> None:
    first, second = (decode_kuenta_fact(kuenta_envelope("payment.completed", "p-1", 3)) for _ in range(2))
    assert first.eventId == second.eventId
    assert first.deliveryId != second.deliveryId


def test_the_same_instant_written_three_ways_is_one_event() -> None:
    stamps = ["2024-03-20T10:00:00Z", "2024-03-20T10:00:00", "2024-03-20T12:00:00+02:00"]
    facts = [
        decode_kuenta_fact(kuenta_envelope_of(orjson.dumps({"event": "payment.failed", "data": {"id": "p"}, "timestamp": s})))
        for s in stamps
    ]
    assert {f.eventId for f in facts} == {facts[0].eventId}
    assert {f.occurredAt for f in facts} == {datetime(2024, 3, 20, 10, 0, tzinfo=UTC)}
    assert all(f.occurredAt.tzinfo is not None for f in facts)


def test_without_a_timestamp_the_receive_time_and_body_stand_in() -> None:
    fact = decode_kuenta_fact(kuenta_envelope("payment.created", "p-1", None))
    assert fact.occurredAt == RECEIVED
    again = decode_kuenta_fact(kuenta_envelope("payment.created", "p-1", None))
    other = decode_kuenta_fact(kuenta_envelope("payment.created", "p-1", None, amount=1))
    assert fact.eventId == again.eventId != other.eventId


def test_different_events_on_one_aggregate_have_different_ids() -> None:
    ids = {decode_kuenta_fact(kuenta_envelope(name, "a-1", 0)).eventId for name in ALL_DOC_EVENTS}
    assert len(ids) == len(ALL_DOC_EVENTS)


def test_an_undecodable_envelope_raises_rather_than_guessing() -> None:
    with pytest.raises(UnknownEventError):
        decode_kuenta_fact(kuenta_envelope("payment.chargeback", "p-1", 0))
