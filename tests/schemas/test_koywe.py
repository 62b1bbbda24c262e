"""Koywe order events as the provider documents them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from schemas.errors import DecodeError, UnknownEventError
from schemas.koywe import ORDER_EVENT_NAMES, PaymentReceivedModifiedOrderAmount, decode_order_event

pytestmark = pytest.mark.unit

#: The request example of koywe-webhooks-callbacks-v1.en.txt, comments removed.
DOC_EXAMPLE = b"""{
"eventName": "crypto_delivered",
"orderId": "5a3288ea-0bd4-44d2-af11-aae1f88bbd61",
"timeStamp": "2022-10-26T22:36:41.658Z",
"signature": "ed40d34ab7a587cf1a16338a16cc7765ae4420936677482bb33f5f738e4f7189"
}"""

#: Every order event of the newest (Spanish) doc, written out by hand.
DOC_EVENTS = {
    "payment_created", "payment_received", "payment_rejected", "wire_order_canceled",
    "payment_rejected_by_compliance", "payment_expired", "payment_received_modified_order_amount",
    "crypto_tx_sent", "crypto_delivered", "crypto_tx_failed", "fiat_sent", "fiat_delivered",
    "invalid_withdrawals_details",
}


def test_the_docs_example_decodes() -> None:
    event = decode_order_event(DOC_EXAMPLE)
    assert event.eventName == "crypto_delivered" and event.orderId == "5a3288ea-0bd4-44d2-af11-aae1f88bbd61"
    assert event.timeStamp == datetime(2022, 10, 26, 22, 36, 41, 658000, tzinfo=UTC)
    assert "signature" not in event.model_dump()


@pytest.mark.parametrize("name", sorted(DOC_EVENTS - {"payment_received_modified_order_amount"}))
def test_every_documented_event_has_a_model(name: str) -> None:
    event = decode_order_event(orjson.dumps({"eventName": name, "orderId": "o", "timeStamp": "2022-10-26T22:36:41.658Z"}))
    assert event.eventName == name and type(event).__name__ != "KoyweOrderEventBase"
    assert ORDER_EVENT_NAMES == DOC_EVENTS


def test_modified_amount_carries_both_orders_with_exact_decimals() -> None:
    event = decode_order_event(orjson.dumps({
        "eventName": "payment_received_modified_order_amount", "orderId": "o",
        "originalOrder": {"amountIn": 401.25, "quoteId": "q1"}, "orderAdjustedByBankIncome": {"amountIn": 1500},
    }))
    assert isinstance(event, PaymentReceivedModifiedOrderAmount)
    assert event.originalOrder.amountIn == Decimal("401.25") and event.orderAdjustedByBankIncome.amountIn == 1500
    assert event.originalOrder.model_extra == {"quoteId": "q1"}
    with pytest.raises(DecodeError, match="originalOrder"):
        decode_order_event(b'{"eventName":"payment_received_modified_order_amount","orderId":"o"}')


def test_unknown_members_are_kept() -> None:
    event = decode_order_event(b'{"eventName":"fiat_sent","orderId":"o","bank":{"name":"BCI"},"amountOut":10}')
    assert event.model_extra == {"bank": {"name": "BCI"}, "amountOut": 10}


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        (b'{"eventName":"payment_teleported","orderId":"o"}', UnknownEventError, "payment_teleported"),
        (b'{"eventName":"fiat_sent"}', DecodeError, "orderId"),
        (b'{"eventName":"fiat_sent","orderId":""}', DecodeError, "orderId"),
        (b'{"eventName":"fiat_sent","orderId":"o","timeStamp":"tomorrow"}', DecodeError, "timeStamp"),
        (b'"fiat_sent"', DecodeError, "object"),
    ],
)
def test_undecodable_events_say_why(body: bytes, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        decode_order_event(body)
