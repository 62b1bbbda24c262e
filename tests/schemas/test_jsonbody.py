"""The one body parser, and its decision on lone surrogates (see schemas/jsonbody.py): Koywe's
`JSON.stringify` writes one as a `\\ud83d` escape and signs those bytes, so the body verifies and
is stored exactly as received; its parsed value holds U+FFFD instead, the same in ingest's
routing and in the worker's decoders, because no strict JSON consumer can hold the surrogate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from ingest.senders.signatures import verify_koywe
from schemas.decoding import decode_fact, route_koywe
from schemas.envelope import new_envelope
from schemas.errors import DecodeError
from schemas.jsonbody import REPLACEMENT, load_object
from schemas.kuenta import decode_kuenta_event

pytestmark = pytest.mark.unit

VECTORS = json.loads((Path(__file__).parents[1] / "ingest" / "senders" / "vectors" / "koywe_vectors.json").read_text("utf-8"))
LONE = next(c for c in VECTORS if c["name"] == "lone_surrogate")


def test_strict_consumers_refuse_a_lone_surrogate_escape() -> None:
    """Why the parsed value cannot keep it: orjson refuses the text, and a str holding the
    surrogate cannot be written as UTF-8 (every topic value hooklog writes is)."""
    body = bytes.fromhex(LONE["body_utf8_hex"])
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    with pytest.raises(TypeError):
        orjson.dumps(json.loads(body))


def test_the_node_vector_verifies_byte_exact_and_parses_with_a_replacement_character() -> None:
    body = bytes.fromhex(LONE["body_utf8_hex"])
    assert b"\\ud83d" in body  # six ASCII bytes on the wire: what Koywe signed
    verify_koywe(body, [LONE["secret"]])
    doc = load_object(body)
    assert doc["name"] == "truncated " + REPLACEMENT
    verify_koywe(body, [LONE["secret"]], doc)  # the same verdict from the parse ingest passes on
    assert route_koywe(doc) == ("crypto_delivered", "5a3288ea-0bd4-44d2-af11-aae1f88bbd61")


def test_the_worker_decodes_what_ingest_routed() -> None:
    body = bytes.fromhex(LONE["body_utf8_hex"])
    name, key = route_koywe(load_object(body))
    envelope = new_envelope(source="koywe", key=key, event_name=name, body=body,
                            received_at=datetime(2026, 3, 20, tzinfo=UTC))
    fact = decode_fact(envelope)
    assert fact.aggregateId == key and fact.eventName == name
    assert fact.event.model_extra["name"] == "truncated " + REPLACEMENT
    assert orjson.dumps(fact.event.model_dump())  # the decoded event is writable, unlike the surrogate
    assert envelope.body == body  # the stored bytes stay the signed ones
    kuenta = b'{"event":"credit.disbursed","data":{"id":"cr-\\udc00"},"timestamp":"2026-03-20T10:00:00Z"}'
    assert decode_kuenta_event(kuenta).data.id == "cr-" + REPLACEMENT


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        (b'{"a":"\\ud83d\\ude80"}', {"a": "\U0001F680"}),  # a proper pair is one character, as always
        (b'{"\\udfff":["x\\ud800y", {"k": "\\uDBFF"}]}', {REPLACEMENT: ["x" + REPLACEMENT + "y", {"k": REPLACEMENT}]}),
        (b'{"a":"\\\\ud800"}', {"a": "\\ud800"}),  # an escaped backslash: plain text, no surrogate
        (b'{"a":"\\ud800","n":18446744073709551616,"m":1.5}', {"a": REPLACEMENT, "n": 1.8446744073709552e19, "m": 1.5}),
    ],
)
def test_what_the_parser_reads(body: bytes, parsed: dict) -> None:
    assert load_object(body) == parsed


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"a":"\\ud800","b":NaN}', "not valid JSON"),
        (b'{"a":"\\ud800","b":1e999}', "not valid JSON"),
        (b'{"a":"\\ud800",}', "not valid JSON"),
        (b'{"a":"\\ud800","b":"\xff"}', "not valid UTF-8"),
        (b'{"a":"\xed\xa0\x80"}', "not valid UTF-8"),  # a surrogate as raw bytes is not UTF-8 at all
        (b'["\\ud800"]', "JSON object"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),
    ],
)
def test_a_lone_surrogate_does_not_open_a_door_for_anything_else(body: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError, match=fragment):
        load_object(body)
