"""The console's session cookie: signed, expiring, tamper-evident, bound to a configured token."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from streams.console import session as s

pytestmark = pytest.mark.unit
TOKENS = (SecretStr("alpha"), SecretStr("beta"))
KEY = s.session_key(None, TOKENS)


def test_a_fresh_cookie_verifies_until_it_expires() -> None:
    value, made = s.issue(KEY, "beta", now=1000.0, ttl_s=60)
    assert s.verify(KEY, value, 1059.0, TOKENS) == made
    assert s.verify(KEY, value, 1060.0, TOKENS) is None


@pytest.mark.parametrize("mangle", [
    lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # signature changed
    lambda v: "x" + v,  # payload changed
    lambda v: v.replace(".", ""),  # no signature at all
    lambda v: "",
])
def test_a_tampered_cookie_is_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    value, _ = s.issue(KEY, "alpha", now=0.0, ttl_s=60)
    assert s.verify(KEY, mangle(value), 1.0, TOKENS) is None


def test_the_expiry_cannot_be_extended_without_the_key() -> None:
    value, _ = s.issue(KEY, "alpha", now=0.0, ttl_s=60)
    head, tag = value.split(".")
    forged = s._b64(s._unb64(head).replace(b'"exp":60', b'"exp":99999'))
    assert forged != head and s.verify(KEY, f"{forged}.{tag}", 100.0, TOKENS) is None


def test_every_worker_derives_the_same_key_and_a_secret_or_token_change_ends_sessions() -> None:
    assert s.session_key(None, tuple(reversed(TOKENS))) == KEY
    assert s.session_key(SecretStr("console-secret"), TOKENS) != KEY
    value, _ = s.issue(KEY, "alpha", now=0.0, ttl_s=60)
    assert s.verify(s.session_key(None, (SecretStr("gamma"),)), value, 1.0, (SecretStr("gamma"),)) is None


def test_a_session_ends_when_its_token_is_removed_even_with_an_explicit_secret() -> None:
    key = s.session_key(SecretStr("console-secret"), TOKENS)
    value, _ = s.issue(key, "alpha", now=0.0, ttl_s=60)
    assert s.verify(key, value, 1.0, TOKENS) is not None
    assert s.verify(key, value, 1.0, (SecretStr("beta"),)) is None


def test_csrf_tokens_belong_to_their_session() -> None:
    _, one = s.issue(KEY, "alpha", now=0.0, ttl_s=60)
    _, two = s.issue(KEY, "alpha", now=0.0, ttl_s=60)
    assert s.csrf_ok(KEY, one, s.csrf_token(KEY, one))
    assert not s.csrf_ok(KEY, one, s.csrf_token(KEY, two))
    assert not s.csrf_ok(KEY, one, None) and not s.csrf_ok(KEY, one, "")
