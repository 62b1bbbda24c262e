"""Pure checks ingest runs before it parses anything: content type and JSON nesting depth.

Both look at bytes only and cost a few C-level passes, so a hostile body is refused before a
parser (orjson in ingest, pydantic in the worker) builds anything from it.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

JSON_MEDIA_TYPE = "application/json"
UTF8_CHARSETS = frozenset({"utf-8", "utf8"})

# A JSON string: a quote, then runs of ordinary bytes or escape pairs, then the closing quote.
# An unterminated string runs to the end of the input (possessive, so never backtracks): the
# scan stays linear whatever the body (a naive pattern is quadratic on `"\"\"\"...`).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte that is not a bracket
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # open -> +1, close -> -1 (signed byte)


def content_type_ok(header: str | None) -> bool:
    """`application/json`, optionally with `charset=utf-8`; a missing header is accepted
    (the body must still parse as JSON and carry a valid signature)."""
    if header is None or not header.strip():
        return True
    media_type, *params = (part.strip() for part in header.split(";"))
    if media_type.lower() != JSON_MEDIA_TYPE:
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in UTF8_CHARSETS:
            return False
    return True


def _steps(body: bytes) -> array[int]:
    """+1 per opening and -1 per closing bracket outside strings, in order."""
    return array("b", _STRING.sub(b"", body).translate(_STEP, _BRACKETS))


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays/objects in the JSON text `body`; brackets inside strings do not
    count. Any bytes are fine: for invalid JSON the number is meaningless but cheap to get."""
    return max(accumulate(_steps(body), initial=0))


def too_deep(body: bytes, limit: int, chunk: int = 16_384) -> bool:
    """True if `body` nests arrays/objects deeper than `limit`; stops at the first chunk of
    brackets that goes too deep, so a bracket bomb costs little more than a string scan."""
    if body.count(b"[") + body.count(b"{") <= limit:  # the common case: few brackets at all
        return False
    steps, depth = _steps(body), 0
    for start in range(0, len(steps), chunk):
        part = steps[start:start + chunk]
        if max(accumulate(part, initial=depth)) > limit:
            return True
        depth += sum(part)
    return False
