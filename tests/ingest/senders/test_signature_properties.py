"""Properties of the three signature schemes: sign/verify round trips for arbitrary payloads and
secrets, single-byte tampering always detected, and hostile input only ever SignatureError."""

from __future__ import annotations

import base64
import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.senders.signatures import (
    koywe_signed_bytes,
    sign_hmac_hex,
    sign_standard_webhooks,
    signed_koywe_body,
    verify_hmac_hex,
    verify_koywe,
    verify_standard_webhooks,
)
from schemas.errors import SignatureError

pytestmark = pytest.mark.unit

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
payloads = st.dictionaries(
    st.text(max_size=12).filter(lambda k: k != "signature"), json_values, max_size=6
)
secrets = st.text(min_size=1, max_size=40)


def compact(payload: dict, style: int) -> bytes:
    """Compact JSON of an object, three ways (orjson; json with raw UTF-8; json ASCII-escaped)."""
    if style == 0:
        return orjson.dumps(payload)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=style == 1).encode()


@FAST
@given(payloads, secrets, st.sampled_from(["first", "last"]), st.integers(0, 2))
def test_koywe_roundtrip(payload: dict, secret: str, position: str, style: int) -> None:
    signed = compact(payload, style)
    body = signed_koywe_body(signed, secret, position)  # type: ignore[arg-type]
    assert koywe_signed_bytes(body).candidates[0] == signed
    verify_koywe(body, ["some-old-secret", secret])


@FAST
@given(payloads, secrets, st.integers(1, 2), st.sampled_from([1, 2, "\t", "\r\n"]))
def test_koywe_pretty_body_signed_compact(payload: dict, secret: str, style: int, indent: object) -> None:
    # Python's json both ways, so the pretty body has the same number/string tokens as `signed`.
    signed = compact(payload, style)
    obj = json.loads(signed_koywe_body(signed, secret))
    if indent == "\r\n":
        pretty = json.dumps(obj, indent=2, ensure_ascii=style == 1).replace("\n", "\r\n")
    else:
        pretty = json.dumps(obj, indent=indent, ensure_ascii=style == 1)
    verify_koywe(pretty.encode(), [secret])


whitespace = st.text(alphabet=" \t\r\n", max_size=3).map(str.encode)


@FAST
@given(payloads, secrets, st.data())
def test_koywe_signature_anywhere_any_whitespace(payload: dict, secret: str, data: st.DataObject) -> None:
    """The member may sit at any index, with any JSON whitespace around any token of the body."""
    pairs = [(orjson.dumps(k), orjson.dumps(v)) for k, v in payload.items()]
    signed = b"{" + b",".join(k + b":" + v for k, v in pairs) + b"}"
    sig_hex = signed_koywe_body(signed, secret)[-66:-2]
    pairs.insert(data.draw(st.integers(0, len(pairs)), label="index"), (b'"signature"', b'"' + sig_hex + b'"'))
    ws = lambda: data.draw(whitespace)  # noqa: E731
    spaced = [ws() + k + ws() + b":" + ws() + v + ws() for k, v in pairs]
    body = ws() + b"{" + b",".join(spaced) + b"}" + ws()
    assert signed in koywe_signed_bytes(body).candidates
    verify_koywe(body, [secret])


@FAST
@given(payloads, secrets, st.sampled_from(["first", "last"]), st.data())
def test_koywe_any_flipped_byte_fails(payload: dict, secret: str, position: str, data: st.DataObject) -> None:
    body = signed_koywe_body(orjson.dumps(payload), secret, position)  # type: ignore[arg-type]
    i = data.draw(st.integers(0, len(body) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="mask")
    tampered = body[:i] + bytes([body[i] ^ mask]) + body[i + 1 :]
    with pytest.raises(SignatureError):
        verify_koywe(tampered, [secret])


@FAST
@given(st.binary(max_size=300), st.data())
def test_hmac_hex_roundtrip_and_flip(body: bytes, data: st.DataObject) -> None:
    secret = data.draw(secrets, label="secret")
    sig = sign_hmac_hex(body, secret)
    verify_hmac_hex(body, sig, [secret])
    verify_hmac_hex(body, sig.upper(), ["other", secret])
    if body:
        i = data.draw(st.integers(0, len(body) - 1), label="index")
        tampered = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255), label="mask")]) + body[i + 1 :]
        with pytest.raises(SignatureError):
            verify_hmac_hex(tampered, sig, [secret])


@FAST
@given(
    st.binary(max_size=300),
    st.binary(min_size=1, max_size=64),
    st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s),
    st.integers(0, 2**40),
    st.booleans(),
    st.data(),
)
def test_standard_webhooks_roundtrip_and_flip(
    body: bytes, key: bytes, msg_id: str, ts: int, prefixed: bool, data: st.DataObject
) -> None:
    secret = ("whsec_" if prefixed else "") + base64.b64encode(key).decode()
    sig = sign_standard_webhooks(msg_id, ts, body, secret)
    headers = {"Webhook-Id": msg_id, "Webhook-Timestamp": str(ts), "Webhook-Signature": f"v2,abc {sig}"}
    now = ts + data.draw(st.integers(-300, 300), label="skew")
    verify_standard_webhooks(body, headers, ["whsec_" + base64.b64encode(b"other").decode(), secret], now=now)
    if body:
        i = data.draw(st.integers(0, len(body) - 1), label="index")
        tampered = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255), label="mask")]) + body[i + 1 :]
        with pytest.raises(SignatureError):
            verify_standard_webhooks(tampered, headers, [secret], now=now)


def _only_signature_error(fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    try:
        fn(*args, **kwargs)
    except SignatureError:
        pass


json_ish = st.one_of(
    st.binary(max_size=200),
    payloads.map(orjson.dumps),
    st.tuples(payloads, json_values, st.sampled_from([b"signature", b"sig\\u006eature"])).map(
        lambda t: orjson.dumps(t[0])[:-1]
        + (b"," if t[0] else b"")
        + b'"' + t[2] + b'":' + orjson.dumps(t[1]) + b"}"
    ),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


@FAST
@given(json_ish, st.lists(st.text(max_size=20), max_size=3))
def test_koywe_hostile_input_only_signature_error(body: bytes, configured: list[str]) -> None:
    _only_signature_error(verify_koywe, body, configured)
    _only_signature_error(koywe_signed_bytes, body)


@FAST
@given(st.binary(max_size=200), st.one_of(st.none(), st.text(max_size=80)), st.lists(st.text(max_size=20), max_size=3))
def test_hmac_hex_hostile_input_only_signature_error(body: bytes, sig: str | None, configured: list[str]) -> None:
    _only_signature_error(verify_hmac_hex, body, sig, configured)


header_names = st.sampled_from(["webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE", "x-other"]) | st.text(max_size=20)
header_values = (
    st.text(max_size=80)
    | st.integers(0, 2**40).map(str)
    | st.lists(st.sampled_from(["v1,", "v2,", "v1,abc=", "v1,====", ","]) | st.text(max_size=30), max_size=4).map(" ".join)
)


@FAST
@given(
    st.binary(max_size=200),
    st.dictionaries(header_names, header_values, max_size=5),
    st.lists(st.text(max_size=30) | st.binary(max_size=32).map(lambda b: "whsec_" + base64.b64encode(b).decode()), max_size=3),
    st.floats(min_value=0, max_value=2**41, allow_nan=False),
)
def test_standard_webhooks_hostile_input_only_signature_error(
    body: bytes, headers: dict[str, str], configured: list[str], now: float
) -> None:
    _only_signature_error(verify_standard_webhooks, body, headers, configured, now=now)


@FAST
@given(payloads, secrets, st.sampled_from(["first", "last"]), st.integers(0, 2), st.sampled_from([b"", b" ", b"\n  "]))
def test_koywe_fast_cut_is_the_scanners_cut(payload: dict, secret: str, position: str, style: int, pad: bytes) -> None:
    """The shortcut for Koywe's own layout (`_signature_last`) cuts exactly what the member
    scanner cuts, and declines (-1) whatever it cannot prove: escapes, other layouts."""
    from ingest.senders.signatures import _signature_last, _signature_member

    body = signed_koywe_body(compact(payload, style), secret, position)  # type: ignore[arg-type]
    body = body[:-1] + pad + b"}" if pad and position == "last" else body
    sig = orjson.loads(body)["signature"]
    start = _signature_last(body, sig)
    if start >= 0:
        assert (start, len(body) - 1) == _signature_member(body)
    if position == "last" and not pad and b"\\" not in body and body.count(b'"signature"') == 1 and payload:
        assert start >= 0  # the layout Koywe sends does take the shortcut


@pytest.mark.parametrize("body", [
    b'{"sign\\u0061ture":"x","a":1,"signature":"' + b"0" * 64 + b'"}',  # a second one, escaped: scanner refuses
    b'{"a":{"signature":"' + b"0" * 64 + b'"},"signature":"' + b"0" * 64 + b'"}',  # nested one too
    b'{"a":"\\",\\"signature\\":\\"' + b"0" * 64 + b'","signature":"' + b"0" * 64 + b'"}',  # one in a string
])
def test_koywe_fast_cut_declines_what_it_cannot_prove(body: bytes) -> None:
    from ingest.senders.signatures import _signature_last

    assert _signature_last(body, "0" * 64) == -1  # so the scanner decides, and refuses
    with pytest.raises(SignatureError):
        verify_koywe(body, ["s"])
