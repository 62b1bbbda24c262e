"""The console's session cookie and CSRF tokens: signed, expiring, tied to an API token.

Cookie value: `<base64url(JSON {"sid", "exp", "tok"})>.<base64url(HMAC-SHA256)>`. `tok` is a short
fingerprint of the API token the operator logged in with, so removing that token from
HOOKLOG_API_TOKENS ends its sessions at once. The key is HOOKLOG_CONSOLE_SECRET when set, else
derived (HMAC-SHA256) from the configured API tokens: every worker configured alike computes the
same key, so any worker accepts a cookie another worker issued. Pure: clock is a parameter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from pydantic import SecretStr

COOKIE = "hooklog_console"
_KEY_LABEL = b"hooklog console session key v1"


@dataclass(frozen=True)
class Session:
    sid: str
    expires: int
    token_fingerprint: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(token: str) -> str:
    """Names a token without revealing it (12 hex digits of its SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def session_key(secret: SecretStr | None, api_tokens: Sequence[SecretStr]) -> bytes:
    """HOOKLOG_CONSOLE_SECRET if set, else HMAC(label, sorted API tokens): the same on every worker
    with the same configuration; rotating the tokens (or the secret) ends every session."""
    if secret is not None and secret.get_secret_value():
        material = secret.get_secret_value().encode()
    else:
        material = b"\x00".join(sorted(t.get_secret_value().encode() for t in api_tokens))
    return hmac.new(_KEY_LABEL, material, hashlib.sha256).digest()


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"session\x00" + payload, hashlib.sha256).digest()


def issue(key: bytes, token: str, now: float, ttl_s: int) -> tuple[str, Session]:
    """A new session for someone who presented `token`; the cookie value and the session."""
    session = Session(secrets.token_urlsafe(16), int(now) + ttl_s, fingerprint(token))
    payload = orjson.dumps({"sid": session.sid, "exp": session.expires, "tok": session.token_fingerprint})
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}", session


def verify(key: bytes, value: str | None, now: float, api_tokens: Sequence[SecretStr]) -> Session | None:
    """The session a cookie value holds, or None: unsigned, tampered, expired, malformed, or made
    with a token no longer configured."""
    if not value or value.count(".") != 1:
        return None
    head, _, tag = value.partition(".")
    try:
        payload, mac = _unb64(head), _unb64(tag)
    except ValueError:
        return None
    if not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    try:
        fields = orjson.loads(payload)
        session = Session(str(fields["sid"]), int(fields["exp"]), str(fields["tok"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if session.expires <= now:
        return None
    known = [hmac.compare_digest(session.token_fingerprint, fingerprint(t.get_secret_value())) for t in api_tokens]
    return session if any(known) else None


def csrf_token(key: bytes, session: Session) -> str:
    """The CSRF token of a session: every state-changing form must send it back."""
    return _b64(hmac.new(key, f"csrf\x00{session.sid}".encode(), hashlib.sha256).digest())


def csrf_ok(key: bytes, session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(presented.encode(), csrf_token(key, session).encode())
