"""A source = a name, a signature scheme with its secrets, and how to route a body.

Routing finds the provider's event name and the aggregate id that keys the raw record, so that
one table partition holds all of one aggregate's events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import SecretStr

from ingest.signatures import verify_hmac_hex, verify_koywe
from schemas.decoding import route_koywe
from schemas.kuenta import route_kuenta
from schemas.errors import DecodeError
from schemas.settings import Settings

Verifier = Callable[[bytes, Mapping[str, str]], None]
Router = Callable[[dict[str, Any]], tuple[str, str]]


@dataclass(frozen=True)
class Source:
    name: str
    verify: Verifier
    route: Router
    kept_headers: tuple[str, ...] = ()


def parse_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or DecodeError (-> 400)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise DecodeError("body must be a JSON object")
    return doc


def _koywe_verifier(secrets: tuple[SecretStr, ...]) -> Verifier:
    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        verify_koywe(body, secrets)

    return verify


def _header_hmac_verifier(header: str, secrets: tuple[SecretStr, ...]) -> Verifier:
    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        verify_hmac_hex(body, headers.get(header), secrets)

    return verify


def build_sources(settings: Settings) -> dict[str, Source]:
    """Sources with at least one secret; a source without secrets cannot verify, so it is off."""
    sources: dict[str, Source] = {}
    if settings.koywe_secret_list:
        sources["koywe"] = Source("koywe", _koywe_verifier(settings.koywe_secret_list), route_koywe)
    if settings.kuenta_secret_list:
        header = settings.kuenta_signature_header
        sources["kuenta"] = Source("kuenta", _header_hmac_verifier(header, settings.kuenta_secret_list),
                                   route_kuenta, kept_headers=(header,))
    return sources
