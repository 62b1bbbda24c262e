"""Guessable credentials stop the worker at start: which variable, which entry, how long, how to
make one, and never the value."""

from __future__ import annotations

import pytest

from floor.credentials import MIN_SECRET_CHARS, check_secret_lengths
from floor.settings import Settings
from schemas.errors import ConfigError, HooklogError, WeakSecretError

pytestmark = pytest.mark.unit
LONG = "x" * MIN_SECRET_CHARS


def test_tokens_and_secrets_of_sixteen_characters_or_more_pass() -> None:
    check_secret_lengths(Settings(api_tokens=f"{LONG}, {LONG}y", peer_secret=LONG, console_secret=LONG,
                                  koywe_auth_tokens=LONG))
    check_secret_lengths(Settings(api_tokens=None, peer_secret="", console_secret=""))  # unset (empty: unset too)


@pytest.mark.parametrize(("values", "named"), [
    ({"api_tokens": "fifteen-chars-x"}, "HOOKLOG_API_TOKENS: it is shorter than 16 characters"),
    ({"api_tokens": f"{LONG},short-one,{LONG},short-two"}, "HOOKLOG_API_TOKENS: entries 2, 4 of 4 are shorter"),
    ({"api_tokens": f"{LONG},short-one"}, "HOOKLOG_API_TOKENS: entry 2 of 2 is shorter"),
    ({"peer_secret": "p33r-s3cr3t"}, "HOOKLOG_PEER_SECRET: it is shorter than 16"),
    ({"console_secret": "c0ns0le-k3y"}, "HOOKLOG_CONSOLE_SECRET: it is shorter than 16"),
    ({"koywe_auth_tokens": f"{LONG},cb-t0ken"}, "HOOKLOG_KOYWE_AUTH_TOKENS: entry 2 of 2 is shorter"),
])
def test_a_short_one_is_refused_naming_the_variable_and_the_way_to_make_one(values: dict, named: str) -> None:
    with pytest.raises(WeakSecretError) as refused:
        check_secret_lengths(Settings(**{"api_tokens": LONG, **values}))
    message = str(refused.value)
    assert named in message and "openssl rand -hex 32" in message and "at least 16 characters" in message
    assert isinstance(refused.value, ConfigError) and isinstance(refused.value, HooklogError)
    assert not any(secret in message for value in values.values() for secret in value.split(",") if secret != LONG)
