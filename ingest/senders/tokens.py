"""Kuenta's token mode: the OAuth2 client-credentials grant (RFC 6749 §4.4) ingest offers at
`POST /oauth/token`, and the bearer check of a Kuenta webhook that carries such a token.

Tokens are signed, not stored: `hk1.<base64url {"c": client id, "e": expiry}>.<base64url HMAC>`,
the HMAC keyed by a key derived from that client's secret. So any ingest process configured with
the same clients accepts a token another issued, a client removed from
HOOKLOG_KUENTA_TOKEN_CLIENTS (or given a new secret) has its tokens refused at once, and nothing
needs to be shared between processes. The clock is a parameter (Unix seconds).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote_plus

import orjson
from pydantic import SecretStr

from schemas.errors import DecodeError, SignatureError

PREFIX = "hk1"
_KEY_LABEL = b"hooklog kuenta token v1"


class Issued(NamedTuple):
    access_token: str
    expires_in: int


class ClientCredentials(NamedTuple):
    grant_type: str | None
    client_id: str | None
    client_secret: str | None
    basic: bool  # the client authenticated with HTTP Basic (a 401 then names the scheme)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: SecretStr) -> bytes:
    """The HMAC key of one client's tokens, never the secret itself."""
    return hmac.digest(secret.get_secret_value().encode("utf-8", "surrogateescape"), _KEY_LABEL, "sha256")


def _mac(secret: SecretStr, payload: str) -> str:
    return _b64(hmac.digest(_key(secret), payload.encode(), "sha256"))


def client_ok(clients: Mapping[str, SecretStr], client_id: str | None, client_secret: str | None) -> bool:
    """Constant-time check of a client's id and secret; every configured client is compared, so
    timing tells nothing about which ids exist."""
    if not client_id or client_secret is None:
        return False
    given = client_secret.encode("utf-8", "surrogateescape")
    ok = False
    for known_id, secret in clients.items():
        same_id = hmac.compare_digest(known_id.encode("utf-8", "surrogateescape"),
                                      client_id.encode("utf-8", "surrogateescape"))
        same_secret = hmac.compare_digest(secret.get_secret_value().encode("utf-8", "surrogateescape"), given)
        ok |= same_id & same_secret
    return ok


def issue(client_id: str, secret: SecretStr, *, now: float, ttl_s: int) -> Issued:
    """A token for `client_id`, valid `ttl_s` seconds from `now`."""
    payload = _b64(orjson.dumps({"c": client_id, "e": int(now) + ttl_s}))
    return Issued(f"{PREFIX}.{payload}.{_mac(secret, payload)}", ttl_s)


def verify_token(token: str, clients: Mapping[str, SecretStr], *, now: float) -> str:
    """The client id of a token we issued that has not expired; SignatureError otherwise."""
    prefix, _, rest = token.partition(".")
    payload, _, mac = rest.partition(".")
    if prefix != PREFIX or not payload or not mac:
        raise SignatureError("the bearer token is not one hooklog issued (get one at POST /oauth/token)")
    try:
        claims = orjson.loads(_unb64(payload))
        client_id, expiry = claims["c"], claims["e"]
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise SignatureError("the bearer token is malformed; get a new one at POST /oauth/token") from None
    secret = clients.get(client_id) if isinstance(client_id, str) else None
    if secret is None or not isinstance(expiry, int) or not hmac.compare_digest(_mac(secret, payload), mac):
        raise SignatureError("the bearer token was not issued by hooklog for a configured client")
    if now >= expiry:
        raise SignatureError("the bearer token has expired; get a new one at POST /oauth/token")
    return client_id


def bearer_of(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _basic(header: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: Basic with the form-urlencoded id and secret."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        text = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise DecodeError("the Basic credentials are not base64 of id:secret") from None
    client_id, sep, secret = text.partition(":")
    if not sep:
        raise DecodeError("the Basic credentials are not base64 of id:secret")
    return unquote_plus(client_id), unquote_plus(secret)


def _body(body: bytes, content_type: str) -> dict[str, str]:
    """The request's parameters: a form (RFC 6749) or, as Kuenta's `auth_request_body` shows, JSON."""
    if content_type.startswith("application/json"):
        try:
            doc = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            raise DecodeError("the token request body is not JSON") from None
        if not isinstance(doc, dict):
            raise DecodeError("the token request body must be a JSON object")
        return {k: v for k, v in doc.items() if isinstance(v, str)}
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body)))
    except (UnicodeDecodeError, ValueError):
        raise DecodeError("the token request body is not application/x-www-form-urlencoded") from None


def credentials(body: bytes, content_type: str, authorization: str | None) -> ClientCredentials:
    """The grant type and the client's credentials, from HTTP Basic or the body (not both)."""
    params = _body(body, content_type.lower())
    basic = _basic(authorization)
    if basic is not None and ("client_id" in params and params["client_id"] != basic[0] or "client_secret" in params):
        raise DecodeError("send the client's credentials either with HTTP Basic or in the body, not both")
    client_id, secret = basic if basic is not None else (params.get("client_id"), params.get("client_secret"))
    return ClientCredentials(params.get("grant_type"), client_id, secret, basic is not None)
