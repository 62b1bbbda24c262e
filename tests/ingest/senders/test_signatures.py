"""Signature schemes against real signatures: Node-made Koywe vectors, Kuenta's documented
scheme, and the Standard Webhooks reference libraries' published test vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from ingest.senders.signatures import (
    koywe_signed_bytes,
    sign_hmac_hex,
    sign_koywe,
    sign_standard_webhooks,
    signed_koywe_body,
    verify_hmac_hex,
    verify_koywe,
    verify_standard_webhooks,
)
from schemas.errors import SignatureError
from tests.conftest import assert_node_regenerates

pytestmark = pytest.mark.unit

VECTORS_DIR = Path(__file__).parent / "vectors"
VECTORS_FILE = VECTORS_DIR / "koywe_vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
SECRET = "koywe-test-secret-0001"


def _body(case: dict) -> bytes:
    return bytes.fromhex(case["body_utf8_hex"])


# --------------------------------------------------------------------------- koywe: Node vectors


def test_vectors_cover_the_required_cases() -> None:
    names = {c["name"] for c in VECTORS}
    assert {"non_ascii", "emoji_astral", "escapes", "line_separators", "numbers", "signature_first",
            "signature_middle", "nested_signature_untouched", "pretty_2_signed_compact",
            "pretty_tabs_signed_compact", "tampered_amount", "wrong_secret", "rotated_secret",
            "modified_order_amount"} <= names
    assert len(names) == len(VECTORS)


def test_node_regenerates_the_committed_vectors(tmp_path: Path) -> None:
    assert_node_regenerates(VECTORS_DIR / "make_koywe_vectors.js", VECTORS_FILE, tmp_path)


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_koywe_vector(case: dict) -> None:
    body = _body(case)
    assert body == case["body"].encode("utf-8")
    secrets = [SecretStr(s) for s in case["secrets"]]
    if case["valid"]:
        verify_koywe(body, secrets)
        assert case["signed"].encode("utf-8") in koywe_signed_bytes(body).candidates
    else:
        with pytest.raises(SignatureError) as info:
            verify_koywe(body, secrets)
        assert all(s not in str(info.value) for s in case["secrets"])


@pytest.mark.parametrize("case", [c for c in VECTORS if c["valid"]], ids=lambda c: c["name"])
def test_koywe_sign_matches_node(case: dict) -> None:
    signed = koywe_signed_bytes(_body(case))
    assert sign_koywe(case["signed"].encode("utf-8"), case["secret"]) == signed.signature


def test_exact_cut_is_the_first_candidate_for_compact_bodies() -> None:
    for name in ("documented_example", "signature_first", "signature_middle", "numbers", "sole_member"):
        case = next(c for c in VECTORS if c["name"] == name)
        assert koywe_signed_bytes(_body(case)).candidates == (case["signed"].encode("utf-8"),)


def test_pretty_body_signed_compact_needs_the_compact_candidate() -> None:
    case = next(c for c in VECTORS if c["name"] == "pretty_2_signed_compact")
    exact, compact = koywe_signed_bytes(_body(case)).candidates
    assert compact == case["signed"].encode("utf-8")
    assert exact == json.dumps(json.loads(case["signed"]), indent=2, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- koywe: edge errors

GOOD_PAYLOAD = b'{"eventName":"payment_received","orderId":"o-1","amount":401.25}'


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"[]",
        b'"signature"',
        b"42",
        b"null",
        b"{",
        b'{"a":1}',
        b'{"a":1} {"b":2}',
        b'{"nested":{"signature":"' + b"a" * 64 + b'"}}',
        b'{"signature":null}',
        b'{"signature":42}',
        b'{"signature":["' + b"a" * 64 + b'"]}',
        b'{"signature":"' + b"a" * 63 + b'"}',
        b'{"signature":"' + b"a" * 65 + b'"}',
        b'{"signature":"' + b"g" * 64 + b'"}',
        b'{"signature":"' + b"A" * 64 + b'"}',
        b'{"signature":" ' + b"a" * 63 + b'"}',
        b'\xef\xbb\xbf{"signature":"' + b"a" * 64 + b'"}',
        b'{"a":"\xff","signature":"' + b"a" * 64 + b'"}',
        b'{"a":"\xed\xa0\x80","signature":"' + b"a" * 64 + b'"}',
        b'{"a":NaN,"signature":"' + b"a" * 64 + b'"}',
        b'{"a":Infinity,"signature":"' + b"a" * 64 + b'"}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_koywe_malformed_bodies_raise_signature_error(body: bytes) -> None:
    with pytest.raises(SignatureError):
        verify_koywe(body, [SECRET])


def test_koywe_messages_are_actionable() -> None:
    cases = {
        b"[1]": "JSON object",
        b'{"a":1}': "no top-level `signature`",
        b'{"a":"\xff"}': "UTF-8",
        b'{"a":}': "not valid JSON",
        b'{"signature":"xyz"}': "64 lowercase hex",
    }
    for body, fragment in cases.items():
        with pytest.raises(SignatureError, match=fragment):
            verify_koywe(body, [SECRET])


def test_koywe_duplicate_top_level_signature_is_rejected() -> None:
    body = signed_koywe_body(GOOD_PAYLOAD, SECRET)
    dup = body[:-1] + b',"signature":"' + sign_koywe(GOOD_PAYLOAD, SECRET).encode() + b'"}'
    with pytest.raises(SignatureError, match="more than one"):
        verify_koywe(dup, [SECRET])
    escaped_dup = body[:-1] + b',"\\u0073ignature":"' + b"0" * 64 + b'"}'
    with pytest.raises(SignatureError, match="more than one"):
        verify_koywe(escaped_dup, [SECRET])


def test_koywe_escaped_key_is_recognised() -> None:
    sig = sign_koywe(GOOD_PAYLOAD, SECRET).encode()
    body = GOOD_PAYLOAD[:-1] + b',"sig\\u006eature":"' + sig + b'"}'
    verify_koywe(body, [SECRET])


def test_koywe_body_text_mentioning_signature_is_not_a_member() -> None:
    payload = b'{"note":"\\"signature\\":\\"' + b"a" * 64 + b'\\"","x":{"signature":"y"}}'
    body = signed_koywe_body(payload, SECRET, position="first")
    assert koywe_signed_bytes(body).candidates == (payload,)
    verify_koywe(body, [SECRET])


@pytest.mark.parametrize("depth", [1, 7, 8, 9, 10, 40, 500])
def test_koywe_deeply_nested_values(depth: int) -> None:
    """Values nested deeper than the one-regex-per-member fast path are walked token by token."""
    deep: object = "leaf ]}[{"
    for level in range(depth):
        deep = [deep, {"signature": "inner", "s": "\\\"]"}] if level % 2 else {"k": deep, "n": -1.5e-3}
    payload = {"before": deep, "eventName": "payment_received", "after": [deep, deep]}
    signed = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    for position in ("first", "last"):
        body = signed_koywe_body(signed, SECRET, position)  # type: ignore[arg-type]
        assert koywe_signed_bytes(body).candidates == (signed,)
        verify_koywe(body, [SECRET])
    middle = json.loads(signed)
    middle = {"before": middle["before"], "signature": sign_koywe(signed, SECRET), **middle}
    verify_koywe(json.dumps(middle, indent=2, ensure_ascii=False).encode(), [SECRET])


def test_koywe_trailing_newline_and_crlf_pretty_print_verify() -> None:
    body = signed_koywe_body(GOOD_PAYLOAD, SECRET)
    verify_koywe(body + b"\n", [SECRET])
    obj = json.loads(body)
    verify_koywe(json.dumps(obj, indent=2).replace("\n", "\r\n").encode(), [SECRET])


def test_koywe_rotation_wrong_and_missing_secrets() -> None:
    body = signed_koywe_body(GOOD_PAYLOAD, SECRET)
    verify_koywe(body, [SecretStr("old"), SecretStr(SECRET), SecretStr("next")])
    with pytest.raises(SignatureError, match="does not match"):
        verify_koywe(body, [SecretStr("old"), SecretStr("next")])
    with pytest.raises(SignatureError, match="no secret"):
        verify_koywe(body, [])
    with pytest.raises(SignatureError, match="no secret"):
        verify_koywe(body, [SecretStr("")])
    with pytest.raises(SignatureError, match="list"):
        verify_koywe(body, SECRET)  # type: ignore[arg-type]


def test_koywe_message_never_contains_the_secret() -> None:
    secret = "super-secret-value-1234"
    body = signed_koywe_body(GOOD_PAYLOAD, "other")
    with pytest.raises(SignatureError) as info:
        verify_koywe(body, [secret])
    assert secret not in str(info.value) and secret not in repr(info.value)


def test_signed_koywe_body_positions_and_guards() -> None:
    sig = sign_koywe(GOOD_PAYLOAD, SECRET)
    assert signed_koywe_body(GOOD_PAYLOAD, SECRET) == GOOD_PAYLOAD[:-1] + f',"signature":"{sig}"}}'.encode()
    assert signed_koywe_body(GOOD_PAYLOAD, SECRET, "first") == f'{{"signature":"{sig}",'.encode() + GOOD_PAYLOAD[1:]
    assert signed_koywe_body(b"{}", SECRET) == f'{{"signature":"{sign_koywe(b"{}", SECRET)}"}}'.encode()
    with pytest.raises(SignatureError):
        signed_koywe_body(b"[1]", SECRET)
    with pytest.raises(SignatureError, match="already"):
        signed_koywe_body(b'{"signature":"x"}', SECRET)
    with pytest.raises(SignatureError):
        signed_koywe_body(GOOD_PAYLOAD, SECRET, "middle")  # type: ignore[arg-type]


def test_sign_koywe_is_createhmac_hex() -> None:
    expected = hmac.new(SECRET.encode(), GOOD_PAYLOAD, hashlib.sha256).hexdigest()
    assert sign_koywe(GOOD_PAYLOAD, SECRET) == expected


# --------------------------------------------------------------------------- kuenta (hmac-sha256-hex)

KUENTA_BODY = (
    '{"event":"credit.application.created","data":{"id":"app_123","amount":5000000,"term":12,'
    '"termUnit":"months","status":"pending","createdAt":"2024-03-20T10:00:00Z"},'
    '"timestamp":"2024-03-20T10:00:00Z"}'
).encode()
KUENTA_SECRET = "tu-secreto-webhook"


def test_kuenta_matches_the_documented_python_snippet() -> None:
    documented = hmac.new(KUENTA_SECRET.encode("utf-8"), KUENTA_BODY, hashlib.sha256).hexdigest()
    assert sign_hmac_hex(KUENTA_BODY, KUENTA_SECRET) == documented
    verify_hmac_hex(KUENTA_BODY, documented, [SecretStr(KUENTA_SECRET)])
    verify_hmac_hex(KUENTA_BODY, documented.upper(), [SecretStr(KUENTA_SECRET)])


def test_kuenta_raw_bytes_not_reserialised() -> None:
    pretty = json.dumps(json.loads(KUENTA_BODY), indent=2).encode()
    sig = sign_hmac_hex(pretty, KUENTA_SECRET)
    verify_hmac_hex(pretty, sig, [KUENTA_SECRET])
    with pytest.raises(SignatureError, match="does not match"):
        verify_hmac_hex(KUENTA_BODY, sig, [KUENTA_SECRET])


def test_kuenta_rotation() -> None:
    sig = sign_hmac_hex(KUENTA_BODY, "new")
    verify_hmac_hex(KUENTA_BODY, sig, [SecretStr("old"), SecretStr("new")])
    with pytest.raises(SignatureError, match="does not match"):
        verify_hmac_hex(KUENTA_BODY, sig, [SecretStr("old")])


@pytest.mark.parametrize(
    "signature",
    [None, "", "abc", "0" * 63, "0" * 65, "g" * 64, " " + "0" * 63, "0" * 64 + "\n",
     "sha256=" + "0" * 64, "٠" * 64, b"0" * 64],
)
def test_kuenta_malformed_header(signature: object) -> None:
    with pytest.raises(SignatureError):
        verify_hmac_hex(KUENTA_BODY, signature, [KUENTA_SECRET])  # type: ignore[arg-type]


def test_kuenta_tampered_body_and_secret_not_in_message() -> None:
    sig = sign_hmac_hex(KUENTA_BODY, KUENTA_SECRET)
    with pytest.raises(SignatureError) as info:
        verify_hmac_hex(KUENTA_BODY.replace(b"5000000", b"5000001"), sig, [KUENTA_SECRET])
    assert KUENTA_SECRET not in str(info.value)
    with pytest.raises(SignatureError):
        verify_hmac_hex("text body", sig, [KUENTA_SECRET])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- standard webhooks
# Published vectors of the Standard Webhooks reference libraries
# (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py and
# libraries/javascript/src/webhook.test.ts, "sign function works" / "test_sign_function").

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SW_OTHER = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="  # the libraries' non-matching entry


def _sw_headers(signature: str = SW_EXPECTED, ts: int = SW_TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": SW_MSG_ID, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_sw_published_sign_vector() -> None:
    assert sign_standard_webhooks(SW_MSG_ID, SW_TIMESTAMP, SW_BODY, SW_SECRET) == SW_EXPECTED
    assert sign_standard_webhooks(SW_MSG_ID, SW_TIMESTAMP, SW_BODY, SW_SECRET[6:]) == SW_EXPECTED


def test_sw_published_vector_verifies_with_and_without_prefix() -> None:
    for secret in (SW_SECRET, SW_SECRET[6:], SW_SECRET.rstrip("=")):
        verify_standard_webhooks(SW_BODY, _sw_headers(), [SecretStr(secret)], now=SW_TIMESTAMP)


def test_sw_published_invalid_signature() -> None:
    # The libraries' "invalid signature" case: the published signature with its last char changed.
    with pytest.raises(SignatureError, match="no signature matches"):
        verify_standard_webhooks(SW_BODY, _sw_headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="),
                                 [SW_SECRET], now=SW_TIMESTAMP)


def test_sw_multiple_signatures_in_header() -> None:
    header = " ".join([SW_OTHER, "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", SW_EXPECTED, SW_OTHER])
    verify_standard_webhooks(SW_BODY, _sw_headers(header), [SW_SECRET], now=SW_TIMESTAMP)


def test_sw_wrong_version_prefix_only() -> None:
    for header in ("v2," + SW_EXPECTED[3:], "v1a," + SW_EXPECTED[3:], SW_EXPECTED[3:], "V1," + SW_EXPECTED[3:]):
        with pytest.raises(SignatureError, match="no v1"):
            verify_standard_webhooks(SW_BODY, _sw_headers(header), [SW_SECRET], now=SW_TIMESTAMP)


def test_sw_multiple_secrets() -> None:
    other = "whsec_" + base64.b64encode(b"another key of 24 bytes!").decode()
    verify_standard_webhooks(SW_BODY, _sw_headers(), [SecretStr(other), SecretStr(SW_SECRET)], now=SW_TIMESTAMP)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify_standard_webhooks(SW_BODY, _sw_headers(), [SecretStr(other)], now=SW_TIMESTAMP)


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_sw_timestamp_within_tolerance(offset: int) -> None:
    verify_standard_webhooks(SW_BODY, _sw_headers(), [SW_SECRET], now=SW_TIMESTAMP + offset)


@pytest.mark.parametrize(("offset", "fragment"), [(301, "old"), (10_000, "old"), (-301, "future")])
def test_sw_expired_and_future_timestamps(offset: int, fragment: str) -> None:
    with pytest.raises(SignatureError, match=fragment):
        verify_standard_webhooks(SW_BODY, _sw_headers(), [SW_SECRET], now=SW_TIMESTAMP + offset)


def test_sw_tolerance_is_a_parameter() -> None:
    verify_standard_webhooks(SW_BODY, _sw_headers(), [SW_SECRET], now=SW_TIMESTAMP + 3600, tolerance_s=3600)
    with pytest.raises(SignatureError):
        verify_standard_webhooks(SW_BODY, _sw_headers(), [SW_SECRET], now=SW_TIMESTAMP + 11, tolerance_s=10)


def test_sw_headers_case_insensitive() -> None:
    headers = {"Webhook-Id": SW_MSG_ID, "WEBHOOK-TIMESTAMP": str(SW_TIMESTAMP), "Webhook-Signature": SW_EXPECTED}
    verify_standard_webhooks(SW_BODY, headers, [SW_SECRET], now=SW_TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_sw_missing_headers(missing: str) -> None:
    headers = _sw_headers()
    del headers[missing]
    with pytest.raises(SignatureError, match=missing):
        verify_standard_webhooks(SW_BODY, headers, [SW_SECRET], now=SW_TIMESTAMP)


@pytest.mark.parametrize("ts", ["hello", "1614265330.5", "-1614265330", " 1614265330", "١٦١٤٢٦٥٣٣٠", "9" * 5000])
def test_sw_invalid_timestamp(ts: str) -> None:
    headers = _sw_headers()
    headers["webhook-timestamp"] = ts
    with pytest.raises(SignatureError, match="timestamp"):
        verify_standard_webhooks(SW_BODY, headers, [SW_SECRET], now=SW_TIMESTAMP)


@pytest.mark.parametrize("header", ["v1,", SW_EXPECTED[:8], "v1,!!!!", "v1,g0hM9SsE", "   "])
def test_sw_partial_or_garbage_signature(header: str) -> None:
    with pytest.raises(SignatureError):
        verify_standard_webhooks(SW_BODY, _sw_headers(header), [SW_SECRET], now=SW_TIMESTAMP)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", "whsec_ñ", "whsec_A"])
def test_sw_bad_secret_is_a_signature_error_without_the_secret(secret: str) -> None:
    with pytest.raises(SignatureError) as info:
        verify_standard_webhooks(SW_BODY, _sw_headers(), [SecretStr(secret)], now=SW_TIMESTAMP)
    assert "secret #1" in str(info.value)
    with pytest.raises(SignatureError):
        verify_standard_webhooks(SW_BODY, _sw_headers(), [], now=SW_TIMESTAMP)


def test_sw_body_is_signed_raw() -> None:
    with pytest.raises(SignatureError, match="no signature matches"):
        verify_standard_webhooks(b'{"test":2432232314}', _sw_headers(), [SW_SECRET], now=SW_TIMESTAMP)
