"""Built-in sources: why bad JSON never gets past Koywe's check, and how bodies are routed."""

from __future__ import annotations

import orjson
import pytest

from floor.settings import Settings
from ingest.senders.signatures import sign_hmac_hex, signed_koywe_body, verify_koywe
from ingest.senders.sources import build_sources
from schemas.errors import DecodeError, SignatureError
from schemas.jsonbody import load_object

pytestmark = pytest.mark.unit


def test_bad_json_after_a_valid_koywe_signature_cannot_happen() -> None:
    """Koywe's signature is a member *of the JSON body*: a body that is not a JSON object has no
    signature to find, so it can never verify, and no undecodable-JSON Koywe record reaches the log."""
    good = signed_koywe_body(b'{"eventName":"payment_created","orderId":"o-1"}', "s")
    verify_koywe(good, ["s"])
    for broken in (good[:-1], good.replace(b":", b"=", 1), b"\xff" + good, b"[" + good + b"]"):
        with pytest.raises(SignatureError):
            verify_koywe(broken, ["s"])


def test_kuenta_signs_bytes_not_json_so_ingest_refuses_unparsable_bodies_itself() -> None:
    """Kuenta's HMAC covers the raw bytes: garbage can carry a valid signature. ingest answers 400
    before verifying (the provider learns at once); it is never stored."""
    settings = Settings(kuenta_secrets="k")
    source = build_sources(settings)["kuenta"]
    garbage = b"{not json"
    source.verify(garbage, {}, {"X-Signature": sign_hmac_hex(garbage, "k")})  # the signature is valid …
    with pytest.raises(DecodeError, match="not valid JSON"):
        load_object(garbage)  # … and the body is still refused


def test_routes_of_the_built_in_sources() -> None:
    sources = build_sources(Settings(koywe_secrets="a", kuenta_secrets="b"))
    assert sources["koywe"].route({"eventName": "payment_created", "orderId": "o-1"}, {}) == ("payment_created", "o-1", None)
    doc = orjson.loads(b'{"event":"payment.failed","data":{"id":"pay_1"}}')
    assert sources["kuenta"].route(doc, {}) == ("payment.failed", "pay_1", None)
    with pytest.raises(DecodeError, match="data.id"):
        sources["kuenta"].route({"event": "payment.failed", "data": {}}, {})
    assert set(build_sources(Settings())) == set()  # no secret, no source
