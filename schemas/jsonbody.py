"""Parsing a webhook body as a JSON object: one parser for ingest and the worker, one error type.

Lone surrogates, decided here once. Koywe signs `JSON.stringify(payload)` in Node. Since
ES2019 `JSON.stringify` writes a lone UTF-16 surrogate (a string cut in the middle of an emoji,
say) as the escape `\\ud83d`: six ASCII bytes, valid UTF-8, valid RFC 8259 JSON text, signed like
any other byte. So such a body is authentic, and refusing it would lose a real event (the
provider would resend the same bytes forever). But no Unicode string can hold a lone
surrogate: orjson, pydantic (jiter) and serde_json refuse it, and everything hooklog writes
(envelope line, states, alerts) must be valid UTF-8. Rewriting the bytes would break the
signature, and the raw record keeps the body exactly as received.

So the bytes stay as they are (verified and stored byte for byte), and the *parsed* value reads
each lone surrogate as U+FFFD REPLACEMENT CHARACTER, as WHATWG's TextDecoder and Go's
encoding/json do. ingest routes with that value and the worker folds it, so both see the same
strings. A consumer of the raw topic with its own strict parser must expect such bodies; the
decoded projections never hold one. (Two ids that differ only in their lone surrogates read the
same, and would be one aggregate: no provider makes such ids, and a cut name is the real case.)
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import ValidationError

from schemas.errors import DecodeError

REPLACEMENT = "\ufffd"
# A `\uD800`-`\uDFFF` escape; only then is the lenient path worth trying.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")

T = TypeVar("T")


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (lone surrogates read as U+FFFD), or DecodeError saying why
    not (ingest answers 400 with it)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        doc = _load_with_lone_surrogates(body, exc)
    if not isinstance(doc, dict):
        raise DecodeError("body must be a JSON object")
    return doc


def _load_with_lone_surrogates(body: bytes, refused: orjson.JSONDecodeError) -> Any:
    """What orjson refused, if the only reason was a lone surrogate escape; else DecodeError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"body is not valid UTF-8 (at byte {exc.start}); send UTF-8 JSON") from None
    if not _SURROGATE_ESCAPE.search(body):
        raise DecodeError(f"body is not valid JSON: {refused}") from None
    try:  # orjson's grammar and number types: no NaN/Infinity, floats beyond 64-bit integers
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int)
    except (ValueError, RecursionError):
        raise DecodeError(f"body is not valid JSON: {refused}") from None
    return _replace_lone_surrogates(value)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def _int(text: str) -> int | float:
    value = int(text)
    return value if -(2**63) <= value < 2**64 else _finite_float(text)


def _replace_lone_surrogates(value: Any) -> Any:
    """`value` with every surrogate left in its strings (json pairs the proper ones) as U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_SURROGATE.sub(REPLACEMENT, k): _replace_lone_surrogates(v) for k, v in value.items()}
    return value


class _Validator(Protocol[T]):
    def validate_json(self, data: bytes, /) -> T: ...
    def validate_python(self, data: Any, /) -> T: ...


def validate_body(validator: _Validator[T], body: bytes) -> T:
    """`validator.validate_json(body)` (fast: pydantic parses the bytes itself), or, when the
    JSON itself was refused, the same validation of `load_object(body)`: a body with a lone
    surrogate then decodes exactly as ingest routed it. ValidationError and DecodeError pass on."""
    try:
        return validator.validate_json(body)
    except ValidationError as exc:
        if exc.errors(include_url=False)[0]["type"] != "json_invalid" or not _SURROGATE_ESCAPE.search(body):
            raise
    return validator.validate_python(load_object(body))
