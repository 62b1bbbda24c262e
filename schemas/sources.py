"""Configured sources: any sender can be added by configuration alone.

`HOOKLOG_SOURCES` is a JSON list of these, e.g.
`[{"name": "acme", "scheme": "standard-webhooks", "secrets": "whsec_…", "event_field": "type",
"id_field": "data.id", "time_field": "timestamp"}]`. Koywe, Koywe Payments and Kuenta are built in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, SecretStr

from schemas.base import Frozen
from schemas.errors import DecodeError

BUILT_IN = frozenset({"koywe", "kuenta", "koywe-payments"})


class SourceConfig(Frozen):
    """One configured source: a name, a signature scheme with its secrets, and where the event
    name, aggregate id and event time sit in the body (dotted paths)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    scheme: Literal["standard-webhooks", "hmac-sha256-hex"]
    secrets: SecretStr
    signature_header: str = "X-Signature"
    event_field: str = "type"
    id_field: str = "data.id"
    time_field: str | None = "timestamp"
    tolerance_s: int = Field(default=300, ge=1, le=86_400)


def lookup(doc: Mapping[str, Any], path: str) -> Any:
    """`lookup({"data": {"id": 1}}, "data.id") == 1`; None where the path does not lead."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def route_configured(config: SourceConfig, doc: Mapping[str, Any]) -> tuple[str, str]:
    """(event name, aggregate key) of a configured source's body; keys are `<source>:<id>` so two
    senders' ids never collide in the shared `events` projection."""
    name, ident = lookup(doc, config.event_field), lookup(doc, config.id_field)
    if not isinstance(name, str) or not name.strip():
        raise DecodeError(f"member {config.event_field!r} (the event name) is missing or not a string")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or not str(ident).strip():
        raise DecodeError(f"member {config.id_field!r} (the aggregate id) is missing or not a string/integer")
    return name, f"{config.name}:{ident}"
