"""`Koywe-Signature` against vectors Node made as Koywe's docs show (crypto.createHmac over the raw
body Buffer), through the source ingest builds; and the source's routing by `data.id`."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from floor.settings import Settings
from ingest.senders.sources import build_sources
from schemas.errors import DecodeError, SignatureError
from tests.conftest import assert_node_regenerates

pytestmark = pytest.mark.unit

VECTORS_DIR = Path(__file__).parent / "vectors"
VECTORS_FILE = VECTORS_DIR / "koywe_payments_vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


def source(secrets: list[str]):  # type: ignore[no-untyped-def]
    return build_sources(Settings(_env_file=None, koywe_payments_secrets=",".join(secrets)))["koywe-payments"]


def test_vectors_cover_the_required_cases() -> None:
    names = {c["name"] for c in VECTORS}
    assert {"non_ascii", "emoji_astral", "odd_spacing", "pretty_tabs_crlf", "escapes", "non_ascii_secret",
            "rotated_secret", "wrong_secret", "tampered_amount", "respaced_after_signing", "normalised_unicode"} <= names


def test_node_regenerates_the_committed_vectors(tmp_path: Path) -> None:
    assert_node_regenerates(VECTORS_DIR / "make_koywe_payments_vectors.js", VECTORS_FILE, tmp_path)


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_koywe_payments_vector(case: dict) -> None:
    body = case["body"].encode("utf-8")
    verify = source(case["secrets"]).verify
    headers = {"Koywe-Signature": case["signature"]}
    if case["valid"]:
        verify(body, orjson.loads(body), headers)
    else:
        with pytest.raises(SignatureError) as info:
            verify(body, orjson.loads(body), headers)
        assert all(secret not in str(info.value) for secret in case["secrets"])


def test_a_missing_signature_header_is_refused() -> None:
    body = VECTORS[0]["body"].encode()
    with pytest.raises(SignatureError, match="missing"):
        source(VECTORS[0]["secrets"]).verify(body, orjson.loads(body), {})


def test_events_key_by_data_id_and_pings_by_their_own_id() -> None:
    route = source(["s"]).route
    assert route({"id": "e1", "type": "order.paid", "data": {"id": "ord_1"}}, {}) == ("order.paid", "ord_1", None)
    assert route({"id": "e2", "type": "order.cancelled", "data": {"id": "ord_1"}}, {})[:2] == ("order.canceled", "ord_1")
    assert route({"id": "e3", "type": "ping"}, {})[:2] == ("ping", "koywe-payments:e3")
    with pytest.raises(DecodeError, match="data.id"):
        route({"id": "e4", "type": "contact.created", "data": {}}, {})
    with pytest.raises(DecodeError, match="'id'"):
        route({"type": "order.paid", "data": {"id": "o"}}, {})
