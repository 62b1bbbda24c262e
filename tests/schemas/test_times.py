"""The one ISO 8601 reader: `Z` and offsets kept, no offset means UTC, anything else ValueError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.times import parse_iso8601

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2022-10-26T22:36:41.658Z", datetime(2022, 10, 26, 22, 36, 41, 658000, tzinfo=UTC)),
        ("2026-03-20T10:00:00", datetime(2026, 3, 20, 10, tzinfo=UTC)),
        ("2026-03-20T10:00:00-03:00", datetime(2026, 3, 20, 10, tzinfo=timezone(timedelta(hours=-3)))),
        ("2026-03-20", datetime(2026, 3, 20, tzinfo=UTC)),
    ],
)
def test_iso_times(text: str, moment: datetime) -> None:
    parsed = parse_iso8601(text)
    assert parsed == moment and parsed.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", "1711000000"])
def test_not_iso_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso8601(text)

