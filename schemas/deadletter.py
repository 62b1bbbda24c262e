"""Dead letters: a raw record no fold could take, with the reason and its original bytes.

Wire form on `hooklog.dlq.v1`: `<orjson of DeadLetterMeta> b"\\n" <the raw record value, untouched>`,
so a redrive can send the original record back to the raw topic byte for byte.
"""

from __future__ import annotations

from datetime import datetime

import orjson
from pydantic import ValidationError

from schemas.base import Frozen
from schemas.errors import EnvelopeError


class DeadLetterMeta(Frozen):
    reason: str
    deadAt: datetime
    source: str | None = None
    deliveryId: str | None = None
    aggregateId: str | None = None
    eventName: str | None = None
    rawPartition: int | None = None
    rawOffset: int | None = None


def encode_dead_letter(meta: DeadLetterMeta, raw_value: bytes) -> bytes:
    return orjson.dumps(meta.model_dump(mode="json")) + b"\n" + raw_value


def decode_dead_letter(value: bytes) -> tuple[DeadLetterMeta, bytes]:
    meta, sep, raw = bytes(value).partition(b"\n")
    if not sep:
        raise EnvelopeError("not a hooklog dead letter (no metadata line)")
    try:
        return DeadLetterMeta.model_validate_json(meta), raw
    except ValidationError as exc:
        raise EnvelopeError(f"dead-letter metadata is invalid: {exc.errors(include_url=False)}") from exc
