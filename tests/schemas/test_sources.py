"""Configured sources: validation of the configuration and routing by dotted paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ingest.senders.sources import configured_source, event_time
from schemas.errors import ConfigError, DecodeError
from schemas.sources import SourceConfig, lookup, route_configured

pytestmark = pytest.mark.unit


def test_lookup_follows_dotted_paths() -> None:
    doc = {"data": {"id": "x", "n": {"deep": 1}}, "type": "t"}
    assert lookup(doc, "data.n.deep") == 1 and lookup(doc, "type") == "t"
    assert lookup(doc, "data.missing.deep") is None and lookup(doc, "type.sub") is None


def test_routing_keys_by_source_and_id() -> None:
    config = SourceConfig(name="acme", scheme="hmac-sha256-hex", secrets="s", event_field="kind", id_field="obj.id")
    assert route_configured(config, {"kind": "a.b", "obj": {"id": 7}}) == ("a.b", "acme:7")
    with pytest.raises(DecodeError, match="'kind'"):
        route_configured(config, {"obj": {"id": 7}})
    with pytest.raises(DecodeError, match="'obj.id'"):
        route_configured(config, {"kind": "a.b", "obj": {"id": True}})


@pytest.mark.parametrize("bad", [{"name": "Acme!", "scheme": "standard-webhooks", "secrets": "s"},
                                 {"name": "acme", "scheme": "md5", "secrets": "s"},
                                 {"name": "acme", "scheme": "standard-webhooks", "secrets": "s", "typo": 1}])
def test_bad_configuration_is_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        SourceConfig.model_validate(bad)


def test_built_in_names_and_empty_secrets_are_refused() -> None:
    with pytest.raises(ConfigError, match="built in"):
        configured_source(SourceConfig(name="koywe", scheme="hmac-sha256-hex", secrets="s"))
    with pytest.raises(ConfigError, match="no secret"):
        configured_source(SourceConfig(name="acme", scheme="hmac-sha256-hex", secrets=" , "))


def test_event_times() -> None:
    assert event_time("2026-03-20T10:00:00Z") == datetime(2026, 3, 20, 10, tzinfo=UTC)
    assert event_time("2026-03-20T10:00:00") == datetime(2026, 3, 20, 10, tzinfo=UTC)
    assert event_time(1614265330) == datetime(2021, 2, 25, 15, 2, 10, tzinfo=UTC)
    assert event_time("soon") is None and event_time(True) is None and event_time(None) is None
