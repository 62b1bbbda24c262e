"""Decoding and routing of Koywe's per-user webhooks."""

from __future__ import annotations

import orjson
import pytest

from schemas.decoding import route_koywe
from schemas.errors import DecodeError, UnknownEventError
from schemas.koywe_users import (
    USER_EVENT_TYPES, KoyweDepositEvent, KoyweDocumentEvent, KoyweKycEvent, decode_user_event,
)

pytestmark = pytest.mark.unit


def test_users_are_keyed_by_lowercased_email_first() -> None:
    doc = {"eventName": "verification_started", "email": "Ana@Example.com", "userId": "u-1"}
    assert route_koywe(doc) == ("verification_started", "ana@example.com")
    assert route_koywe({"eventName": "deposit_without_order", "userId": "u-1"}) == ("deposit_without_order", "u-1")


def test_orders_are_keyed_by_order_id_and_unknown_events_keep_what_they_have() -> None:
    assert route_koywe({"eventName": "payment_created", "orderId": "o-1", "email": "a@b.c"}) == ("payment_created", "o-1")
    assert route_koywe({"eventName": "payment_teleported", "orderId": "o-2"}) == ("payment_teleported", "o-2")
    with pytest.raises(DecodeError, match="neither an orderId nor a user id"):
        route_koywe({"eventName": "payment_teleported"})
    with pytest.raises(DecodeError, match="names no user"):
        route_koywe({"eventName": "verification_started", "orderId": "o-3"})
    with pytest.raises(DecodeError, match="eventName"):
        route_koywe({"orderId": "o-3"})


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"eventName": "verification_completed", "email": "a@b.c"}, "verified, reviewNeeded or rejected"),
        ({"eventName": "verification_completed", "email": "a@b.c", "status": "maybe"}, "verified, reviewNeeded or rejected"),
        ({"eventName": "UPDATE_DOCUMENT_NUMBER", "email": "a@b.c"}, "needs its outcome"),
        ({"eventName": "verification_started"}, "names no user"),
        ({"eventName": "verification_started", "email": "a@b.c", "timeStamp": "yesterday"}, "timeStamp"),
    ],
)
def test_undecodable_user_events_say_why(doc: dict, error: str) -> None:
    with pytest.raises(DecodeError, match=error):
        decode_user_event(orjson.dumps(doc))


def test_unknown_user_event_and_non_objects() -> None:
    with pytest.raises(UnknownEventError):
        decode_user_event(b'{"eventName": "verification_teleported", "email": "a@b.c"}')
    with pytest.raises(DecodeError, match="object"):
        decode_user_event(b"[]")


def test_unknown_members_are_kept_and_the_signature_is_not() -> None:
    event = decode_user_event(orjson.dumps({"eventName": "deposit_without_order", "email": "a@b.c", "amount": "10.5",
                                            "currency": "CLP", "bank": "BCI", "signature": "ab" * 32}))
    assert event.model_extra == {"email": "a@b.c", "bank": "BCI"} and str(event.amount) == "10.5"


@pytest.mark.parametrize(
    ("name", "extra", "kind"),
    [("verification_started", {}, KoyweKycEvent), ("verification_completed", {"status": "verified"}, KoyweKycEvent),
     ("UPDATE_DOCUMENT_NUMBER", {"status": "document_number_failed_to_update"}, KoyweDocumentEvent),
     ("document_number_sucessfully_updated", {}, KoyweDocumentEvent),
     ("NEW_DEPOSIT_REGISTERED", {"amount": 1}, KoyweDepositEvent), ("deposit_without_order", {}, KoyweDepositEvent)],
)
def test_each_kind_decodes_to_its_own_class(name: str, extra: dict, kind: type) -> None:
    """The folds dispatch on the class, so class and `kind` must agree."""
    event = decode_user_event(orjson.dumps({"eventName": name, "email": "a@b.c", **extra}))
    assert type(event) is kind and USER_EVENT_TYPES[event.kind] is kind
