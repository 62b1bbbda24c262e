"""Webhook signature schemes: `koywe`, `hmac-sha256-hex` (Kuenta) and `standard-webhooks`.

Every verifier is byte-exact to what the sender signed, compares in constant time against every
active secret (rotation), and turns any malformed input into `SignatureError` whose message says
what is wrong without ever containing a secret. Pure functions; the clock is a parameter.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from schemas.errors import DecodeError, SignatureError
from schemas.jsonbody import load_object

__all__ = [
    "KoyweSigned", "koywe_keys", "koywe_signed_bytes", "sign_hmac_hex", "sign_koywe", "sign_standard_webhooks",
    "signed_koywe_body", "verify_hmac_hex", "verify_koywe", "verify_koywe_keys", "verify_standard_webhooks",
]

Secret = SecretStr | str
"""A configured secret; `SecretStr` in production so it never prints, plain `str` in tests."""

# One JSON string token; unrolled and possessive, so it never backtracks.
_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_WS = rb"[ \t\n\r]*+"
_WS_BYTES = b" \t\n\r"


def _nested(levels: int) -> bytes:
    """A balanced `{...}`/`[...]` up to `levels` deep (the body is valid JSON, so bracket kinds
    need no pairing check). Deeper values fall back to `_skip_nested`."""
    pattern = rb"[\[{](?:[^\"{}\[\]]++|" + _STRING + rb")*+[\]}]"
    for _ in range(levels - 1):
        pattern = rb"[\[{](?:[^\"{}\[\]]++|" + _STRING + rb"|" + pattern + rb")*+[\]}]"
    return pattern


_HEAD = _WS + rb"(" + _STRING + rb")" + _WS + rb":" + _WS
# One top-level member per match: key, value (string | nested | scalar), separator.
_VALUE = rb"(" + _STRING + rb"|" + _nested(8) + rb"|[-+.0-9A-Za-z]++)"
_MEMBER = re.compile(_HEAD + _VALUE + _WS + rb"([,}])", re.S)
_MEMBER_HEAD = re.compile(_HEAD, re.S)
_SEPARATOR = re.compile(_WS + rb"[,}]")
_TOKEN = re.compile(_STRING + rb"|[{}\[\]]", re.S)  # strings jumped over whole; brackets counted
_SPLIT_STRINGS = re.compile(rb"(" + _STRING + rb")", re.S)
_KOYWE_HEX = re.compile(r"[0-9a-f]{64}")  # Node's digest('hex') is always lowercase
_ANY_HEX = re.compile(r"[0-9a-fA-F]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_QUOTE, _COMMA, _CLOSE_OBJ = 0x22, 0x2C, 0x7D  # '"' ',' '}'


# --------------------------------------------------------------------------- shared helpers


def _key_bytes(secret: Secret) -> bytes:
    """UTF-8 like Node's `createHmac(alg, string)`; surrogateescape gives back env-var bytes."""
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not isinstance(raw, str):
        raise SignatureError("a configured secret is not text; check the source's secret list")
    try:
        return raw.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise SignatureError("a configured secret is not valid Unicode text; re-enter it") from None


def _keys(secrets: Iterable[Secret], scheme: str) -> list[bytes]:
    """All usable keys; an empty secret would let anyone sign, so it is never used."""
    if isinstance(secrets, (str, bytes, SecretStr)):
        raise SignatureError(f"{scheme}: secrets must be a list of secrets, not a single value")
    keys = [k for k in map(_key_bytes, secrets) if k]
    if not keys:
        raise SignatureError(f"{scheme}: no secret is configured for this source; set one to accept it")
    return keys


def _matches_any(keys: Sequence[bytes], messages: Sequence[bytes], expected: Sequence[bytes]) -> bool:
    """Check every (key, message, signature) triple; no early exit reveals which key matched."""
    ok = False
    for key in keys:
        for message in messages:
            digest = hmac.digest(key, message, "sha256")
            for candidate in expected:
                ok |= hmac.compare_digest(digest, candidate)
    return ok


def _require_bytes(body: object) -> bytes:
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise SignatureError("the request body must be bytes as received, not decoded text")


# --------------------------------------------------------------------------- koywe


@dataclass(frozen=True, slots=True)
class KoyweSigned:
    """What Koywe signed: candidate byte strings (exact cut, then compacted) and the sent hex."""

    candidates: tuple[bytes, ...]
    signature: str


def _object(body: bytes, doc: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The parsed body: `doc` when the caller parsed it already (ingest parses each body once,
    with `schemas.jsonbody.load_object`), else that same parser's result. So the verifier and
    the router can never disagree on what the body is (lone surrogates: see schemas/jsonbody.py)."""
    if doc is not None:
        return doc
    try:
        return load_object(body)
    except DecodeError as exc:
        raise SignatureError(f"{exc}; a Koywe body is a JSON object carrying a `signature` member") from None


def _skip_ws(body: bytes, pos: int) -> int:
    """Index of the first byte at or after `pos` that is not JSON whitespace."""
    while pos < len(body) and body[pos] in _WS_BYTES:
        pos += 1
    return pos


def _skip_nested(body: bytes, start: int) -> int:
    """End of the container value starting at `start`, for nesting deeper than `_MEMBER` knows."""
    depth = 0
    for token in _TOKEN.finditer(body, start):
        c = body[token.start()]
        if c != _QUOTE:
            depth += 1 if c in b"{[" else -1
            if depth == 0:
                return token.end()
    raise SignatureError("body is not valid JSON (unbalanced brackets)")


def _members(body: bytes) -> Iterator[tuple[int, int, int, int, int]]:
    """(key start, key end, value start, value end, separator index) of each top-level member of
    a body already validated as a JSON object: one regex match per member, strings skipped whole."""
    pos = _skip_ws(body, 0) + 1  # just past the opening '{'
    if body[_skip_ws(body, pos)] == _CLOSE_OBJ:
        return
    while True:
        m = _MEMBER.match(body, pos)
        if m is not None:
            _, (key_start, key_end), (value_start, value_end), (sep, _) = m.regs
        else:
            head = _MEMBER_HEAD.match(body, pos)
            if head is None:
                raise SignatureError("body is not valid JSON")
            (key_start, key_end), value_start = head.span(1), head.end()
            value_end = _skip_nested(body, value_start)
            after = _SEPARATOR.match(body, value_end)
            if after is None:
                raise SignatureError("body is not valid JSON")
            sep = after.end() - 1
        yield key_start, key_end, value_start, value_end, sep
        if body[sep] == _CLOSE_OBJ:
            return
        pos = sep + 1


def _signature_member(body: bytes) -> tuple[int, int]:
    """Byte range to cut: the top-level `signature` member plus exactly one adjacent comma
    (the one before it; or, when it is first, the one after it and the whitespace up to the
    next key, so a pretty-printed body keeps its layout)."""
    cut: tuple[int, int] | None = None
    prev_comma = -1  # the separator of the previous member, always a comma
    for key_start, key_end, value_start, value_end, sep in _members(body):
        key = body[key_start:key_end]
        if key == b'"signature"' or (b"\\" in key and json.loads(key) == "signature"):
            if cut is not None:
                raise SignatureError("body has more than one top-level `signature` member")
            if body[value_start] != _QUOTE:
                raise SignatureError("`signature` must be a JSON string of 64 hex digits")
            if prev_comma >= 0:
                cut = (prev_comma, value_end)
            elif body[sep] == _COMMA:
                cut = (key_start, _skip_ws(body, sep + 1))
            else:
                cut = (key_start, value_end)
        prev_comma = sep
    if cut is None:
        raise SignatureError("body has no top-level `signature` member; is this source really Koywe?")
    return cut


def _compact(text: bytes) -> bytes:
    """`text` without JSON whitespace outside strings (pretty-printed -> JSON.stringify form)."""
    if len(text.translate(None, _WS_BYTES)) == len(text):
        return text
    parts = _SPLIT_STRINGS.split(text)  # even indices: outside strings; odd: whole strings
    parts[::2] = [part.translate(None, _WS_BYTES) for part in parts[::2]]
    return b"".join(parts)


def _signature_last(body: bytes, sig: str) -> int:
    """Where the cut starts when the body is what Koywe sends (`signed_koywe_body`, position
    last, compact): `{...,"signature":"<sig>"}` with no backslash anywhere and `"signature"`
    written once; -1 otherwise (the scanner decides). Without a backslash every quote delimits
    a string, so that tail is the last member of the outermost object, its one `signature`,
    and the cut is the one `_signature_member` makes: its comma up to the closing brace."""
    tail_len = 16 + len(sig)  # ,"signature":"<sig>"}
    if len(body) <= tail_len or body[-1] != _CLOSE_OBJ or b"\\" in body:
        return -1
    start = len(body) - tail_len
    if not body.startswith(b',"signature":"', start) or body[-2] != _QUOTE or body.count(b'"signature"') != 1:
        return -1
    return start if body[start + 14:-2] == sig.encode() else -1


def _koywe_exact(body: bytes, doc: Mapping[str, Any] | None) -> tuple[bytes, str]:
    """The body with its top-level `signature` member cut out, and that member's hex. The parsed
    body says whether there is one and what it holds; the byte scanner only finds where it is
    (unless the body has the one layout Koywe sends, `_signature_last`)."""
    value = _object(body, doc)
    if "signature" not in value:
        raise SignatureError("body has no top-level `signature` member; is this source really Koywe?")
    sig = value["signature"]
    if not isinstance(sig, str) or not _KOYWE_HEX.fullmatch(sig):
        raise SignatureError("`signature` must be a string of 64 lowercase hex digits (HMAC-SHA256)")
    if (start := _signature_last(body, sig)) >= 0:
        return body[:start] + b"}", sig
    start, end = _signature_member(body)
    return body[:start] + body[end:], sig


def koywe_signed_bytes(body: bytes, doc: Mapping[str, Any] | None = None) -> KoyweSigned:
    """Rebuild, textually, the `JSON.stringify(payload)` bytes Koywe signed, without ever
    re-serialising (Python's json writes numbers, escapes and spacing differently from Node).
    Candidate 1: the body with the member cut out. Candidate 2 (only if different): the same
    with whitespace outside strings removed, for senders that pretty-print the body they send."""
    exact, sig = _koywe_exact(_require_bytes(body), doc)
    compact = _compact(exact)
    return KoyweSigned((exact,) if compact == exact else (exact, compact), sig)


def verify_koywe(body: bytes, secrets: Sequence[Secret], doc: Mapping[str, Any] | None = None) -> None:
    """Raise `SignatureError` unless one of `secrets` signed the body's payload; `doc` is the
    parsed body if the caller has it (parse once)."""
    verify_koywe_keys(body, _keys(secrets, "koywe"), doc)


def koywe_keys(secrets: Sequence[Secret]) -> list[bytes]:
    """The keys `verify_koywe_keys` takes: a source's secrets turned into bytes once, at start."""
    return _keys(secrets, "koywe")


def verify_koywe_keys(body: bytes, keys: Sequence[bytes], doc: Mapping[str, Any] | None = None) -> None:
    """`verify_koywe` with the keys made already (`koywe_keys`; ingest verifies per request). The
    compact candidate is only built when the exact one fails: every key is still tried for each
    candidate, so timing tells at most how the body was laid out, never which secret matched."""
    if not keys:
        raise SignatureError("koywe: no secret is configured for this source; set one to accept it")
    exact, sig = _koywe_exact(_require_bytes(body), doc)
    expected = [bytes.fromhex(sig)]
    if _matches_any(keys, [exact], expected):
        return
    compact = _compact(exact)
    if compact == exact or not _matches_any(keys, [compact], expected):
        raise SignatureError("koywe: signature does not match any active secret")


def sign_koywe(payload_bytes: bytes, secret: str) -> str:
    """`crypto.createHmac('sha256', secret).update(payload).digest('hex')`."""
    return hmac.digest(_key_bytes(secret), _require_bytes(payload_bytes), "sha256").hex()


def signed_koywe_body(
    payload_bytes: bytes, secret: str, position: Literal["first", "last"] = "last"
) -> bytes:
    """The body a Koywe sender POSTs: the signed JSON object bytes with `"signature":"<hex>"`
    inserted textually (so the payload bytes stay exactly what was signed)."""
    payload_bytes = _require_bytes(payload_bytes)
    if "signature" in _object(payload_bytes, None):
        raise SignatureError("payload already has a `signature` member; sign the payload without it")
    if position not in ("first", "last"):
        raise SignatureError("position must be 'first' or 'last'")
    member = b'"signature":"' + sign_koywe(payload_bytes, secret).encode() + b'"'
    inner = payload_bytes.strip(b" \t\n\r")[1:-1]
    if not inner.strip(b" \t\n\r"):
        return b"{" + member + b"}"
    if position == "first":
        return b"{" + member + b"," + inner + b"}"
    return b"{" + inner + b"," + member + b"}"


# --------------------------------------------------------------------------- hmac-sha256-hex


def sign_hmac_hex(body: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body (Kuenta)."""
    return hmac.digest(_key_bytes(secret), _require_bytes(body), "sha256").hex()


def verify_hmac_hex(body: bytes, signature: str | None, secrets: Sequence[Secret]) -> None:
    """Raise `SignatureError` unless `signature` (the header value, hex in either case) is the
    HMAC-SHA256 of the raw body under one of `secrets`."""
    keys = _keys(secrets, "hmac-sha256-hex")
    body = _require_bytes(body)
    if signature is None or signature == "":
        raise SignatureError("hmac-sha256-hex: the signature header is missing or empty")
    if not isinstance(signature, str) or not _ANY_HEX.fullmatch(signature):
        raise SignatureError("hmac-sha256-hex: the signature header must be 64 hex digits (HMAC-SHA256)")
    if not _matches_any(keys, [body], [bytes.fromhex(signature)]):
        raise SignatureError("hmac-sha256-hex: signature does not match any active secret")


# --------------------------------------------------------------------------- standard-webhooks


def _whsec_key(secret: Secret, index: int) -> bytes:
    """`whsec_<base64>` or bare base64 (padding optional, as the reference libraries allow)."""
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not isinstance(raw, str):
        raise SignatureError(f"standard-webhooks: secret #{index + 1} is not text")
    raw = raw.removeprefix("whsec_").rstrip("=")
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise SignatureError(f"standard-webhooks: secret #{index + 1} is not whsec_<base64>") from None
    if not key:
        raise SignatureError(f"standard-webhooks: secret #{index + 1} is empty")
    return key


_SW_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _sw_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """The three headers, looked up case-insensitively (first occurrence wins)."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(name, str) and (lname := name.lower()) in _SW_HEADERS and lname not in found:
            if not isinstance(value, str):
                raise SignatureError(f"standard-webhooks: header {lname} must be text")
            found[lname] = value
    missing = [h for h in _SW_HEADERS if not found.get(h)]
    if missing:
        raise SignatureError(f"standard-webhooks: missing or empty header(s): {', '.join(missing)}")
    return found["webhook-id"], found["webhook-timestamp"], found["webhook-signature"]


def _sw_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    try:
        return f"{msg_id}.{timestamp}.".encode("utf-8", "surrogateescape") + body
    except UnicodeEncodeError:
        raise SignatureError("standard-webhooks: webhook-id is not valid text") from None


def sign_standard_webhooks(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """One `webhook-signature` entry, `v1,<base64>`, over `{id}.{timestamp}.{body}`."""
    content = _sw_content(msg_id, str(int(timestamp)), _require_bytes(body))
    return "v1," + base64.b64encode(hmac.digest(_whsec_key(secret, 0), content, "sha256")).decode()


def verify_standard_webhooks(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[Secret],
    *,
    now: float,
    tolerance_s: int = 300,
) -> None:
    """Raise `SignatureError` unless the headers carry a `v1` signature of this body by one of
    `secrets`, with a timestamp within `tolerance_s` of `now` (replay protection, both ways)."""
    if isinstance(secrets, (str, bytes, SecretStr)):
        raise SignatureError("standard-webhooks: secrets must be a list of secrets, not a single value")
    keys = [_whsec_key(s, i) for i, s in enumerate(secrets)]
    if not keys:
        raise SignatureError("standard-webhooks: no secret is configured for this source")
    body = _require_bytes(body)
    msg_id, ts_text, sig_header = _sw_headers(headers)
    if not _TIMESTAMP.fullmatch(ts_text):
        raise SignatureError("standard-webhooks: webhook-timestamp must be integer Unix seconds")
    skew = int(ts_text) - now
    if skew < -tolerance_s:
        raise SignatureError(f"standard-webhooks: timestamp is {-skew:.0f}s old (> {tolerance_s}s); replay?")
    if skew > tolerance_s:
        raise SignatureError(f"standard-webhooks: timestamp is {skew:.0f}s in the future; check clocks")
    expected: list[bytes] = []
    for entry in sig_header.split():
        version, _, b64 = entry.partition(",")
        if version != "v1":
            continue  # other versions (e.g. v1a asymmetric) are not ours to check
        try:
            expected.append(base64.b64decode(b64, validate=True))
        except ValueError:
            expected.append(b"")  # malformed entry: counts as present, can never match
    if not expected:
        raise SignatureError("standard-webhooks: webhook-signature has no v1,<base64> entry")
    if not _matches_any(keys, [_sw_content(msg_id, ts_text, body)], expected):
        raise SignatureError("standard-webhooks: no signature matches any active secret")
