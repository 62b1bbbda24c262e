"""Kuenta's token mode, pure parts: signed tokens, expiry by an injected clock, client checks,
and the Kuenta source in each HOOKLOG_KUENTA_AUTH mode."""

from __future__ import annotations

import base64

import orjson
import pytest
from pydantic import SecretStr

from floor.settings import Settings
from ingest.senders.signatures import sign_hmac_hex
from ingest.senders.sources import build_sources
from ingest.senders.tokens import client_ok, credentials, issue, verify_token
from schemas.errors import ConfigError, DecodeError, SignatureError
from tests.conftest import ManualClock

pytestmark = pytest.mark.unit

CLIENTS = {"kuenta": SecretStr("s3cret"), "other": SecretStr("x")}
BODY = orjson.dumps({"event": "payment.created", "data": {"id": "pay_1"}})


def test_a_token_is_accepted_until_it_expires() -> None:
    token = issue("kuenta", CLIENTS["kuenta"], now=1000, ttl_s=60).access_token
    assert verify_token(token, CLIENTS, now=1059.9) == "kuenta"
    with pytest.raises(SignatureError, match="expired"):
        verify_token(token, CLIENTS, now=1060)


def test_another_process_with_the_same_clients_accepts_it_and_a_new_secret_revokes_it() -> None:
    token = issue("kuenta", CLIENTS["kuenta"], now=0, ttl_s=600).access_token
    assert verify_token(token, {"kuenta": SecretStr("s3cret")}, now=1) == "kuenta"  # no shared memory needed
    for clients in ({"kuenta": SecretStr("rotated")}, {"other": SecretStr("x")}):
        with pytest.raises(SignatureError, match="not issued"):
            verify_token(token, clients, now=1)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.replace("hk1.", "hk2."),
    lambda t: "hk1." + base64.urlsafe_b64encode(b'{"c":"kuenta","e":99999999999}').decode().rstrip("=") + "." + t.rsplit(".", 1)[1],
    lambda t: "hk1.!!!.x", lambda t: "", lambda t: "hk1..",
], ids=["mac", "prefix", "forged-expiry", "garbage", "empty", "parts"])
def test_a_forged_or_malformed_token_is_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    token = issue("kuenta", CLIENTS["kuenta"], now=0, ttl_s=600).access_token
    with pytest.raises(SignatureError):
        verify_token(mangle(token), CLIENTS, now=1)


def test_clients_are_checked_by_id_and_secret() -> None:
    assert client_ok(CLIENTS, "kuenta", "s3cret")
    assert not client_ok(CLIENTS, "kuenta", "x") and not client_ok(CLIENTS, "nobody", "x")
    assert not client_ok(CLIENTS, None, "s3cret") and not client_ok(CLIENTS, "kuenta", None)


def test_credentials_come_from_the_form_json_or_http_basic() -> None:
    form = credentials(b"grant_type=client_credentials&client_id=kuenta&client_secret=s%33cret",
                       "application/x-www-form-urlencoded", None)
    assert form[:3] == ("client_credentials", "kuenta", "s3cret") and not form.basic
    basic = credentials(b"grant_type=client_credentials", "application/x-www-form-urlencoded",
                        "Basic " + base64.b64encode(b"kuenta:s3cret").decode())
    assert basic[:3] == ("client_credentials", "kuenta", "s3cret") and basic.basic
    doc = credentials(b'{"grant_type":"client_credentials","client_id":"kuenta","client_secret":"s3cret"}',
                      "application/json", None)
    assert doc[:3] == ("client_credentials", "kuenta", "s3cret")
    with pytest.raises(DecodeError, match="not both"):
        credentials(b"client_secret=s3cret", "application/x-www-form-urlencoded",
                    "Basic " + base64.b64encode(b"kuenta:s3cret").decode())
    with pytest.raises(DecodeError):
        credentials(b"", "", "Basic !!!")


def kuenta(mode: str, clock: ManualClock, **extra: str):  # type: ignore[no-untyped-def]
    settings = Settings(_env_file=None, kuenta_auth=mode, kuenta_token_clients="kuenta:s3cret", **extra)
    return build_sources(settings, clock)["kuenta"]


def test_token_mode_wants_an_unexpired_bearer_token(manual_clock: ManualClock) -> None:
    source = kuenta("token", manual_clock, kuenta_secrets="hmac-secret")
    token = issue("kuenta", SecretStr("s3cret"), now=manual_clock(), ttl_s=60).access_token
    source.verify(BODY, {}, {"Authorization": f"Bearer {token}"})
    with pytest.raises(SignatureError, match="Bearer"):  # the HMAC signature alone is not enough in token mode
        source.verify(BODY, {}, {"X-Signature": sign_hmac_hex(BODY, "hmac-secret")})
    manual_clock.advance(60)
    with pytest.raises(SignatureError, match="expired"):
        source.verify(BODY, {}, {"Authorization": f"Bearer {token}"})


def test_either_mode_takes_a_token_or_the_signature(manual_clock: ManualClock) -> None:
    source = kuenta("either", manual_clock, kuenta_secrets="hmac-secret")
    token = issue("kuenta", SecretStr("s3cret"), now=manual_clock(), ttl_s=60).access_token
    source.verify(BODY, {}, {"Authorization": f"Bearer {token}"})
    source.verify(BODY, {}, {"X-Signature": sign_hmac_hex(BODY, "hmac-secret")})
    with pytest.raises(SignatureError):
        source.verify(BODY, {}, {"X-Signature": sign_hmac_hex(BODY, "wrong")})
    with pytest.raises(SignatureError):
        source.verify(BODY, {}, {"Authorization": "Bearer nope", "X-Signature": sign_hmac_hex(BODY, "hmac-secret")})


def test_signature_mode_is_todays_behaviour(manual_clock: ManualClock) -> None:
    source = kuenta("signature", manual_clock, kuenta_secrets="hmac-secret")
    token = issue("kuenta", SecretStr("s3cret"), now=manual_clock(), ttl_s=60).access_token
    with pytest.raises(SignatureError):
        source.verify(BODY, {}, {"Authorization": f"Bearer {token}"})


def test_malformed_clients_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="client_id:secret"):
        _ = Settings(_env_file=None, kuenta_token_clients="no-colon").kuenta_token_client_map
