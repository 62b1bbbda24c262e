"""`encode_envelope` writes, byte for byte, what the pydantic dump + orjson wrote (the raw topic
holds those bytes forever), for any envelope; `decode_envelope` inverts it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import Envelope, decode_envelope, encode_envelope

pytestmark = pytest.mark.unit

zones = st.sampled_from([UTC, None, timezone(timedelta(0)), timezone(timedelta(hours=5, minutes=30)),
                         timezone(timedelta(hours=-3)), timezone(timedelta(hours=1, seconds=15))])
moments = st.builds(lambda moment, zone: moment.replace(tzinfo=zone),
                    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zones)
texts = st.text(max_size=40)  # any code point but lone surrogates, control characters included

envelopes = st.builds(
    Envelope, id=texts, source=texts, received_at=moments, key=texts, event_name=texts,
    headers=st.dictionaries(texts, texts, max_size=4), occurred_at=st.none() | moments,
    body=st.binary(max_size=64),
)


def reference(envelope: Envelope) -> bytes:
    """What encode_envelope wrote before it skipped the pydantic dump."""
    return orjson.dumps(envelope.model_dump(mode="json")) + b"\n" + envelope.body


def whole_minutes(moment: datetime | None) -> bool:
    offset = moment.utcoffset() if moment else None
    return offset is None or offset.seconds % 60 == 0


@settings(max_examples=400, deadline=None)
@given(envelopes)
def test_encoding_is_the_pydantic_dump_byte_for_byte(envelope: Envelope) -> None:
    encoded = encode_envelope(envelope)
    assert encoded == reference(envelope)
    if all(whole_minutes(moment) for moment in (envelope.received_at, envelope.occurred_at)):
        assert decode_envelope(encoded) == envelope  # (the format has no offset seconds, then or now)


def test_utc_is_written_z_and_whole_seconds_without_a_fraction() -> None:
    envelope = Envelope(id="d", source="koywe", key="k", event_name="e", body=b"{}",
                        received_at=datetime(2026, 3, 20, 10, 0, tzinfo=UTC),
                        occurred_at=datetime(2026, 3, 20, 9, 0, 0, 1500, tzinfo=timezone(timedelta(hours=-3))))
    meta = encode_envelope(envelope).partition(b"\n")[0]
    assert b'"received_at":"2026-03-20T10:00:00Z"' in meta
    assert b'"occurred_at":"2026-03-20T09:00:00.001500-03:00"' in meta
    assert b"body" not in meta


def test_new_envelope_ids_are_uuid4() -> None:
    import uuid

    from schemas.envelope import uuid4_hex

    ids = {uuid4_hex() for _ in range(500)}
    assert len(ids) == 500
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_new_envelope_is_what_validation_builds() -> None:
    """The unvalidated construction for exact types equals the validated one; other types are
    still validated (and refused)."""
    from pydantic import ValidationError

    from schemas.envelope import new_envelope

    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    made = new_envelope(source="koywe", key="o-1", event_name="payment_created", body=b"{}", received_at=at,
                        headers={"content-type": "application/json"}, occurred_at=at)
    checked = Envelope.model_validate({**made.__dict__})
    assert made == checked and encode_envelope(made) == encode_envelope(checked)
    with pytest.raises(ValidationError):
        new_envelope(source="koywe", key=1, event_name="x", body=b"{}", received_at=at)  # type: ignore[arg-type]
