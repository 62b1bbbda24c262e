"""Where alert lifecycle changes are delivered: the sinks of `HOOKLOG_NOTIFY` (a JSON list).

Each sink has a `type` (alertmanager, webhook, slack), a `url`, an optional `name` (its consumer
group and its metrics' label; default: the type and a hash of the URL, so reordering the list
keeps each sink's progress) and filters: `types` (alert types) and `severities`, empty meaning
all. A webhook's `secret` is Standard Webhooks' `whsec_<base64>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Literal

import orjson
from pydantic import Field, SecretStr, TypeAdapter, ValidationError, field_validator

from schemas.alerts import severity_of
from schemas.base import Frozen
from schemas.errors import ConfigError
from schemas.lifecycle import AlertLifecycle

WHSEC = "whsec_"


class SinkBase(Frozen):
    url: str = Field(pattern=r"^https?://")
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,100}$")
    types: tuple[str, ...] = ()
    severities: tuple[Literal["info", "warning", "critical"], ...] = ()

    @property
    def label(self) -> str:
        """The sink's stable name: its group `<prefix>-notify-<label>` and its metrics' label."""
        kind = getattr(self, "type")
        return self.name or f"{kind}-{hashlib.sha256(self.url.encode()).hexdigest()[:8]}"

    def wants(self, alert_type: str) -> bool:
        return (not self.types or alert_type in self.types) and (
            not self.severities or severity_of(alert_type) in self.severities)


class AlertmanagerSink(SinkBase):
    type: Literal["alertmanager"]


class SlackSink(SinkBase):
    type: Literal["slack"]


class WebhookSink(SinkBase):
    type: Literal["webhook"]
    secret: SecretStr

    @field_validator("secret")
    @classmethod
    def _standard_webhooks_secret(cls, value: SecretStr) -> SecretStr:
        key_bytes(value)
        return value


def key_bytes(secret: SecretStr) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; anything else raises ValueError saying so."""
    text = secret.get_secret_value()
    if not text.startswith(WHSEC):
        raise ValueError("a webhook sink's secret must be whsec_<base64> (Standard Webhooks)")
    try:
        key = base64.b64decode(text[len(WHSEC):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook sink's secret must be whsec_ followed by base64") from None
    if len(key) < 24:
        raise ValueError("a webhook sink's secret must hold at least 24 bytes (Standard Webhooks)")
    return key


Sink = Annotated[AlertmanagerSink | WebhookSink | SlackSink, Field(discriminator="type")]
_SINKS = TypeAdapter(tuple[Sink, ...])


def parse_sinks(text: str | None) -> tuple[Sink, ...]:
    """HOOKLOG_NOTIFY's sinks; a malformed list raises ConfigError naming what is wrong."""
    if not text or not text.strip():
        return ()
    try:
        sinks = _SINKS.validate_python(orjson.loads(text))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()) \
            if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(f"HOOKLOG_NOTIFY must be a JSON list of sinks (docs/alerts.md): {detail}") from None
    labels = [sink.label for sink in sinks]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"HOOKLOG_NOTIFY: two sinks share a name ({labels}); give each its own `name`")
    return sinks



class DeadNotification(Frozen):
    """A delivery a sink did not accept within its retry budget (`<prefix>.notify-dlq.v1`,
    keyed by the first change's id): the lifecycle states as they were, so a redrive sends the
    very same changes, with the same ids."""

    sink: str
    error: str
    attempts: int
    deadAt: datetime
    lifecycles: tuple[AlertLifecycle, ...]
