"""A source = a name, a signature scheme with its secrets, and how to route a body.

Routing finds the provider's event name, the aggregate id that keys the raw record (so one
table partition holds all of one aggregate's events) and, for configured sources, the event
time. Koywe and Kuenta are built in; any other sender is added by configuration alone
(`HOOKLOG_SOURCES`, see schemas/sources.py), with the `standard-webhooks` or
`hmac-sha256-hex` scheme.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import SecretStr

from floor.settings import Settings, split_secrets
from ingest.senders.signatures import koywe_keys, verify_hmac_hex, verify_koywe, verify_koywe_keys, verify_standard_webhooks
from ingest.senders.tokens import bearer_of, verify_token
from schemas.decoding import route_koywe
from schemas.errors import ConfigError, SignatureError
from schemas.koywe_payments import SOURCE as KOYWE_PAYMENTS, route_koywe_payments
from schemas.kuenta import route_kuenta
from schemas.sources import BUILT_IN, SourceConfig, lookup, route_configured
from schemas.times import parse_time

Verifier = Callable[[bytes, dict[str, Any], Mapping[str, str]], None]
"""`verify(body, doc, headers)`: the raw bytes (what was signed), the body as parsed once by
`load_object` (Koywe's signature is a member of it) and the request headers."""


class Route(NamedTuple):
    event_name: str
    key: str
    occurred_at: datetime | None = None


Router = Callable[[dict[str, Any], Mapping[str, str]], Route]


@dataclass(frozen=True)
class Source:
    name: str
    verify: Verifier
    route: Router
    kept_headers: tuple[str, ...] = ()


def koywe_source(secrets: tuple[SecretStr, ...]) -> Source:
    """Koywe: the signature is a member of the body, routing by `route_koywe`. The secrets become
    HMAC keys once, here; a secret that cannot be one is refused per request, as before."""
    try:
        keys = koywe_keys(secrets)
    except SignatureError:
        def verify(body: bytes, doc: dict[str, Any], headers: Mapping[str, str]) -> None:
            verify_koywe(body, secrets, doc)
    else:
        def verify(body: bytes, doc: dict[str, Any], headers: Mapping[str, str]) -> None:
            verify_koywe_keys(body, keys, doc)

    return Source("koywe", verify, lambda doc, headers: Route(*route_koywe(doc)))


def _header_hmac(name: str, header: str, secrets: tuple[SecretStr, ...], route: Router) -> Source:
    def verify(body: bytes, doc: dict[str, Any], headers: Mapping[str, str]) -> None:
        verify_hmac_hex(body, headers.get(header), secrets)

    return Source(name, verify, route, kept_headers=(header,))


#: Koywe's Payments API signs the raw body: `Koywe-Signature` = hex HMAC-SHA256 (docs/events.md).
KOYWE_PAYMENTS_HEADER = "Koywe-Signature"


def koywe_payments_source(secrets: tuple[SecretStr, ...]) -> Source:
    return _header_hmac(KOYWE_PAYMENTS, KOYWE_PAYMENTS_HEADER, secrets, lambda doc, headers: Route(*route_koywe_payments(doc)))


def kuenta_source(settings: Settings, clock: Callable[[], float] = time.time) -> Source | None:
    """Kuenta by HOOKLOG_KUENTA_AUTH: its HMAC header (`signature`), a bearer token ingest issued
    and that has not expired (`token`, ingest/senders/tokens.py), or whichever the request carries
    (`either`: a request with an `Authorization` header is judged by its token). None when the
    mode has nothing to verify with (no secrets, or no token clients)."""
    route: Router = lambda doc, headers: Route(*route_kuenta(doc))  # noqa: E731
    mode, clients = settings.kuenta_auth, settings.kuenta_token_client_map
    signed = (_header_hmac("kuenta", settings.kuenta_signature_header, settings.kuenta_secret_list, route)
              if settings.kuenta_secret_list and mode != "token" else None)
    if mode == "signature" or not clients:
        return signed

    def verify(body: bytes, doc: dict[str, Any], headers: Mapping[str, str]) -> None:
        authorization = headers.get("Authorization")
        if signed is not None and authorization is None:
            signed.verify(body, doc, headers)
            return
        token = bearer_of(authorization)
        if token is None:
            raise SignatureError("kuenta: send Authorization: Bearer <token from POST /oauth/token>"
                                 + (f" or the {settings.kuenta_signature_header} signature" if signed else ""))
        verify_token(token, clients, now=clock())

    kept = signed.kept_headers if signed else ()
    return Source("kuenta", verify, route, kept_headers=kept)


def _standard_webhooks(name: str, secrets: tuple[SecretStr, ...], tolerance_s: int, route: Router) -> Source:
    def verify(body: bytes, doc: dict[str, Any], headers: Mapping[str, str]) -> None:
        verify_standard_webhooks(body, headers, secrets, now=time.time(), tolerance_s=tolerance_s)

    return Source(name, verify, route, kept_headers=("webhook-id", "webhook-timestamp"))


def event_time(value: Any) -> datetime | None:
    """An ISO 8601 string or Unix seconds; anything else is no time (ingest's clock stands in)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            return None
    return None


def _configured_router(config: SourceConfig) -> Router:
    def route(doc: dict[str, Any], headers: Mapping[str, str]) -> Route:
        name, key = route_configured(config, doc)
        found = lookup(doc, config.time_field) if config.time_field else None
        stamp = event_time(found) or (event_time(_int(headers.get("webhook-timestamp")))
                                      if config.scheme == "standard-webhooks" else None)
        return Route(name, key, stamp)

    return route


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def configured_source(config: SourceConfig) -> Source:
    secrets = split_secrets(config.secrets)
    if not secrets:
        raise ConfigError(f"source {config.name!r} has no secret; add one to its `secrets`")
    if config.name in BUILT_IN:
        raise ConfigError(f"source name {config.name!r} is built in; choose another name")
    if config.scheme == "standard-webhooks":
        return _standard_webhooks(config.name, secrets, config.tolerance_s, _configured_router(config))
    return _header_hmac(config.name, config.signature_header, secrets, _configured_router(config))


def build_sources(settings: Settings, clock: Callable[[], float] = time.time) -> dict[str, Source]:
    """Sources with at least one secret; a source without secrets cannot verify, so it is off."""
    sources: dict[str, Source] = {}
    if settings.koywe_secret_list:
        sources["koywe"] = koywe_source(settings.koywe_secret_list)
    if settings.koywe_payments_secret_list:
        sources[KOYWE_PAYMENTS] = koywe_payments_source(settings.koywe_payments_secret_list)
    if (kuenta := kuenta_source(settings, clock)) is not None:
        sources["kuenta"] = kuenta
    for config in settings.sources:
        sources[config.name] = configured_source(config)
    return sources
