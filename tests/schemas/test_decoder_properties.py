"""Every decoder, fed anything at all, returns or raises one of hooklog's typed errors: never a
KeyError, TypeError, RecursionError or a bare pydantic/orjson error that would crash an agent
or turn a 400 into a 500. Inputs: arbitrary bytes, arbitrary JSON, valid payloads with members
replaced by hostile values, truncations, and very deep nesting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.decoding import decode_fact, route_koywe
from schemas.envelope import Envelope, decode_envelope, encode_envelope, new_envelope
from schemas.errors import HooklogError
from schemas.jsonbody import load_object
from schemas.koywe import ORDER_EVENT_NAMES, decode_order_event
from schemas.koywe_users import USER_EVENTS, decode_user_event, user_id_of
from schemas.kuenta import KUENTA_EVENT_NAMES, decode_kuenta_event, route_kuenta

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)

MEMBERS = ["eventName", "orderId", "timeStamp", "signature", "originalOrder", "orderAdjustedByBankIncome",
           "amountIn", "amountOut", "email", "userId", "accountId", "customerId", "status", "result", "amount",
           "currency", "event", "data", "id", "timestamp", "v", "source", "key", "event_name", "received_at",
           "headers", "occurred_at"]
NAMES = sorted(ORDER_EVENT_NAMES | USER_EVENTS | KUENTA_EVENT_NAMES) + ["", "x", "payment_teleported"]
hostile_scalars = (
    st.none() | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", " ", "2026-03-20T10:00:00Z", "2026-13-45T99:99:99Z", "1e999999", "NaN", "-0",
                       "9" * 400, "verified", "reviewNeeded", "@", "\u0000", "\ud7ff\u2028", "a@B.c"])
    | st.sampled_from(NAMES)
    | st.text(max_size=12)
)
json_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(MEMBERS) | st.text(max_size=6), inner, max_size=5),
    max_leaves=25,
)
documents = st.dictionaries(st.sampled_from(MEMBERS), json_values, max_size=8)


def valid_bodies() -> list[bytes]:
    order = {"eventName": "payment_received_modified_order_amount", "orderId": "o-1", "timeStamp": "2026-03-20T10:00:00Z",
             "originalOrder": {"orderId": "o-1", "amountIn": 1}, "orderAdjustedByBankIncome": {"amountIn": 2}}
    user = {"eventName": "verification_completed", "email": "A@b.c", "status": "verified", "timeStamp": "2026-03-20T10:00:00Z"}
    kuenta = {"event": "credit.disbursed", "data": {"id": "c-1", "amount": 5}, "timestamp": "2026-03-20T10:00:00Z"}
    return [orjson.dumps(doc) for doc in (order, user, kuenta)]


def mutated(doc: dict[str, Any], member: str, value: Any) -> bytes:
    return orjson.dumps({**doc, member: value})


any_body = (
    st.binary(max_size=400)
    | json_values.map(orjson.dumps)
    | documents.map(orjson.dumps)
    | st.tuples(st.sampled_from(valid_bodies()), st.sampled_from(MEMBERS), json_values).map(
        lambda t: mutated(orjson.loads(t[0]), t[1], t[2]))
    | st.tuples(st.sampled_from(valid_bodies()), st.integers(0, 200)).map(lambda t: t[0][: t[1]])
    | st.integers(1, 5000).map(lambda n: b'{"eventName":' + b"[" * n + b"]" * n + b"}")
    | st.integers(1, 5000).map(lambda n: b'{"event":"credit.disbursed","data":' + b'{"id":' * n + b"1" + b"}" * n + b"}")
)


def only_typed_errors(decode: Callable[[Any], Any], value: Any) -> None:
    try:
        decode(value)
    except HooklogError:
        pass


@FUZZ
@given(any_body)
def test_load_object(body: bytes) -> None:
    only_typed_errors(load_object, body)


@FUZZ
@given(any_body)
def test_decode_order_event(body: bytes) -> None:
    only_typed_errors(decode_order_event, body)


@FUZZ
@given(any_body)
def test_decode_user_event(body: bytes) -> None:
    only_typed_errors(decode_user_event, body)


@FUZZ
@given(any_body)
def test_decode_kuenta_event(body: bytes) -> None:
    only_typed_errors(decode_kuenta_event, body)


@FUZZ
@given(documents | st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_routers(doc: dict[str, Any]) -> None:
    only_typed_errors(route_koywe, doc)
    only_typed_errors(route_kuenta, doc)
    user = user_id_of(doc)
    assert user is None or (isinstance(user, str) and user)


def envelope_values() -> st.SearchStrategy[bytes]:
    meta = st.dictionaries(st.sampled_from(MEMBERS), json_values, max_size=8).map(lambda d: {"v": 1, **d})
    good = new_envelope(source="koywe", key="o-1", event_name="payment_created", body=b"{}", received_at=T0)
    good_meta = orjson.loads(encode_envelope(good).partition(b"\n")[0])
    return (
        st.binary(max_size=300)
        | st.tuples(meta.map(orjson.dumps), st.binary(max_size=50)).map(lambda t: t[0] + b"\n" + t[1])
        | st.tuples(st.sampled_from(MEMBERS), json_values, st.binary(max_size=50)).map(
            lambda t: orjson.dumps({**good_meta, t[0]: t[1]}) + b"\n" + t[2])
    )


@FUZZ
@given(envelope_values() | st.none())
def test_decode_envelope(value: bytes | None) -> None:
    only_typed_errors(decode_envelope, value)


@FUZZ
@given(st.sampled_from(["koywe", "kuenta", "acme", ""]), st.sampled_from(NAMES), st.text(min_size=1, max_size=8), any_body)
def test_decode_fact_of_any_stored_body(source: str, event_name: str, key: str, body: bytes) -> None:
    """What the worker runs on every raw record: a signed but strange body only ever dead-letters."""
    envelope = Envelope(id="d-1", source=source, received_at=T0, key=key, event_name=event_name, body=body)
    only_typed_errors(decode_fact, envelope)


def test_the_properties_can_fail() -> None:
    """The harness itself lets a non-hooklog error through."""
    with pytest.raises(KeyError):
        only_typed_errors(lambda doc: doc["missing"], {})
