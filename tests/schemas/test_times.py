"""`parse_time`: the one ISO 8601 parser (API `since`, replay bounds, configured sources' times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.errors import HooklogError, TimeFormatError
from schemas.times import as_utc, parse_time

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-20T10:00:00Z", datetime(2026, 3, 20, 10, tzinfo=UTC)),
        ("2026-03-20T10:00:00.250Z", datetime(2026, 3, 20, 10, 0, 0, 250_000, tzinfo=UTC)),
        ("2026-03-20T10:00:00", datetime(2026, 3, 20, 10, tzinfo=UTC)),  # no zone: UTC
        ("2026-03-20", datetime(2026, 3, 20, tzinfo=UTC)),
    ],
)
def test_iso_times_parse_with_utc_for_no_zone(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected and parsed.tzinfo is not None


def test_an_offset_is_kept_as_given() -> None:
    """Callers store what the sender wrote; `as_utc` converts where a comparison needs it."""
    parsed = parse_time("2026-03-20T12:00:00+02:00")
    assert parsed.utcoffset() == timedelta(hours=2)
    assert as_utc(parsed) == datetime(2026, 3, 20, 10, tzinfo=UTC) and as_utc(parsed).tzinfo is UTC
    assert parsed.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize("bad", ["yesterday", "", " 2026-03-20T10:00:00Z", "2026-13-01", "1711000000", None, 17, b"x"])
def test_anything_else_is_one_typed_error_that_names_the_input(bad: object) -> None:
    with pytest.raises(TimeFormatError, match="is not an ISO 8601 time") as info:
        parse_time(bad)
    assert isinstance(info.value, HooklogError) and isinstance(info.value, ValueError)
    assert repr(bad) in str(info.value)
