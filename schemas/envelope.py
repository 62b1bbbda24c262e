"""The raw-topic record: the provider's body bytes exactly as received, plus what ingest knew.

Wire form of a record value (one Kafka record per accepted request):

    <orjson of EnvelopeMeta> b"\\n" <body bytes, untouched>

orjson never writes a raw newline, so the first newline ends the metadata; the body is never
re-serialised (base64 or JSON-in-JSON would cost time and hide the bytes the sender signed).

The pydantic internals this relies on are pinned in floor/seam/pydantic_models.py (schemas/
imports no floor; tests/floor/seam/test_pins.py checks them).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import orjson
from pydantic import Field, ValidationError

from schemas.base import Frozen
from schemas.errors import EnvelopeError
from schemas.trusted import trusted

ENVELOPE_VERSION = 1


class Envelope(Frozen):
    """One accepted webhook delivery."""

    v: int = ENVELOPE_VERSION
    id: str = Field(description="hooklog's id for this delivery (one per accepted request)")
    source: str = Field(description="source name, e.g. koywe or kuenta")
    received_at: datetime = Field(description="when ingest accepted the request (UTC)")
    key: str = Field(description="aggregate id; also the Kafka record key")
    event_name: str = Field(description="the provider's event name as found in the body")
    headers: dict[str, str] = Field(default_factory=dict, description="request headers kept for audit")
    occurred_at: datetime | None = Field(default=None, description="event time ingest found (configured sources)")
    body: bytes = Field(default=b"", exclude=True, description="raw body bytes as received")


def new_envelope(
    *, source: str, key: str, event_name: str, body: bytes, received_at: datetime,
    headers: dict[str, str] | None = None, occurred_at: datetime | None = None,
) -> Envelope:
    """Wrap an accepted body; the id is random because two identical deliveries are two requests.
    ingest calls this per request: values already of the fields' exact types (what routing and
    the clock give) are set as validation would leave them (`schemas.trusted`); anything else
    goes through validation, with its errors."""
    fields = {"v": ENVELOPE_VERSION, "id": uuid4_hex(), "source": source, "received_at": received_at.astimezone(UTC),
              "key": key, "event_name": event_name, "headers": headers or {}, "occurred_at": occurred_at,
              "body": body}
    if (type(source) is str and type(key) is str and type(event_name) is str and type(body) is bytes
            and (occurred_at is None or type(occurred_at) is datetime) and type(fields["headers"]) is dict
            and all(type(k) is str and type(v) is str for k, v in fields["headers"].items())):
        return trusted(Envelope, fields)
    return Envelope(**fields)


_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # the variant and version bits, as uuid.UUID sets them
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def uuid4_hex() -> str:
    """`uuid.uuid4().hex` (16 random bytes, RFC 4122 variant, version 4) without building a UUID."""
    return f"{(int.from_bytes(os.urandom(16)) & _UUID4_CLEAR) | _UUID4_SET:032x}"


#: Fields the metadata line leaves out (the body follows it, raw).
_NOT_META: tuple[str, ...] = tuple(name for name, field in Envelope.model_fields.items() if field.exclude)


def encode_envelope(envelope: Envelope) -> bytes:
    """Record value: metadata line, newline, body bytes.

    The line is byte for byte `orjson.dumps(envelope.model_dump(mode="json"))`, built without the
    pydantic dump (ingest runs this per request): orjson writes the field values as they are and
    formats datetimes as pydantic does, UTC as `Z` included (tests/schemas/test_envelope.py).
    """
    meta = envelope.__dict__.copy()  # the field values, in declaration order
    for name in _NOT_META:
        del meta[name]
    return orjson.dumps(meta, option=orjson.OPT_UTC_Z) + b"\n" + envelope.body


#: `Envelope.model_validate` / `model_validate_json` without their Python wrappers (same
#: validator, same errors): per record.
_validate_envelope = Envelope.__pydantic_validator__.validate_python
_validate_envelope_json = Envelope.__pydantic_validator__.validate_json


def decode_envelope(value: bytes | None) -> Envelope:
    """Inverse of `encode_envelope`; anything else raises EnvelopeError.

    A well-formed line is parsed and validated in one pass (pydantic reads the JSON bytes
    itself: no intermediate dict); anything that pass refuses goes through the checks below,
    which say what is wrong."""
    if not value:
        raise EnvelopeError("empty record: not a hooklog envelope")
    meta, sep, body = bytes(value).partition(b"\n")
    if not sep:
        raise EnvelopeError("record has no metadata line: not a hooklog envelope")
    try:
        envelope = _validate_envelope_json(meta)
    except ValidationError:
        pass
    else:
        if envelope.v == ENVELOPE_VERSION:
            envelope.__dict__["body"] = body  # our own fresh instance: set as validation would
            envelope.__pydantic_fields_set__.add("body")
            return envelope
    return _decode_checked(meta, body)


def _decode_checked(meta: bytes, body: bytes) -> Envelope:
    """The slow path of `decode_envelope`, for a line it refused: the reason as EnvelopeError."""
    try:
        fields = orjson.loads(meta)
        if not isinstance(fields, dict):
            raise EnvelopeError("envelope metadata is not a JSON object")
        if fields.get("v") != ENVELOPE_VERSION:
            raise EnvelopeError(f"unsupported envelope version {fields.get('v')!r}; upgrade hooklog")
        fields["body"] = body  # our own parsed dict: no copy
        return _validate_envelope(fields)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"envelope metadata is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise EnvelopeError(f"envelope metadata is invalid: {exc.errors(include_url=False)}") from exc


def utcnow() -> datetime:
    """The shells' clock; the core takes times as arguments."""
    return datetime.now(UTC)
