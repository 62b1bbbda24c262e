"""Times from providers and users: zone-less means UTC, so every comparison is well defined."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.errors import TimeFormatError


def as_utc(moment: datetime) -> datetime:
    """Provider times without a zone are taken as UTC, so every comparison is well defined."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_time(text: object) -> datetime:
    """An ISO 8601 time as text (`Z` or an offset; none means UTC), zone kept as given.

    Total: anything else raises TimeFormatError, a ValueError, saying what is wanted.
    """
    if isinstance(text, str):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise TimeFormatError(f"{text!r} is not an ISO 8601 time (e.g. 2026-03-20T10:00:00Z)")
