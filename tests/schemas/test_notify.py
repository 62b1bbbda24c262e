"""HOOKLOG_NOTIFY's sinks: parsing, filters, stable names, errors that never echo a secret."""

from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from schemas.notify import parse_sinks
from floor.settings import Settings

pytestmark = pytest.mark.unit
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_filters_by_type_and_severity() -> None:
    (sink,) = parse_sinks('[{"type": "slack", "url": "https://hooks.slack.com/x", "severities": ["critical"]}]')
    assert sink.wants("order_crypto_tx_failed") and not sink.wants("kyc_rejected")
    (typed,) = parse_sinks('[{"type": "alertmanager", "url": "http://am:9093", "types": ["kyc_rejected"]}]')
    assert typed.wants("kyc_rejected") and not typed.wants("order_crypto_tx_failed")


def test_names_are_stable_and_unique() -> None:
    one = parse_sinks(f'[{{"type": "webhook", "url": "http://a", "secret": "{SECRET}"}}, {{"type": "slack", "url": "http://b"}}]')
    two = parse_sinks(f'[{{"type": "slack", "url": "http://b"}}, {{"type": "webhook", "url": "http://a", "secret": "{SECRET}"}}]')
    assert sorted(s.label for s in one) == sorted(s.label for s in two)
    with pytest.raises(ConfigError, match="share a name"):
        parse_sinks('[{"type": "slack", "url": "http://b"}, {"type": "slack", "url": "http://b"}]')


@pytest.mark.parametrize(("text", "says"), [
    ('{"type": "slack"}', "JSON list"),
    ('[{"type": "email", "url": "http://x"}]', "does not match any of the expected tags"),
    ('[{"type": "webhook", "url": "http://x", "secret": "hunter2-but-longer"}]', "whsec_"),
    ('[{"type": "webhook", "url": "http://x", "secret": "whsec_!!!"}]', "base64"),
    ('[{"type": "slack", "url": "ftp://x"}]', "url"),
    ("not json", "JSON list"),
])
def test_malformed_sinks_say_what_is_wrong_without_the_secret(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match="HOOKLOG_NOTIFY") as caught:
        parse_sinks(text)
    assert says in str(caught.value) and "hunter2" not in str(caught.value)


def test_the_redactor_learns_the_secrets() -> None:
    settings = Settings(notify=f'[{{"type": "webhook", "url": "http://a", "secret": "{SECRET}"}},'
                               '{"type": "slack", "url": "https://hooks.slack.com/T/B/C"}]')
    assert {s.get_secret_value() for s in settings.notify_secrets} == {SECRET, "https://hooks.slack.com/T/B/C"}
    assert Settings(notify="[").notify_secrets == ()
