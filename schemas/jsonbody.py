"""Parsing a webhook body as a JSON object: one place, one error type."""

from __future__ import annotations

from typing import Any

import orjson

from schemas.errors import DecodeError


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or DecodeError saying why not (ingest answers 400 with it)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise DecodeError("body must be a JSON object")
    return doc
