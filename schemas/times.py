"""ISO 8601 times as hooklog reads them everywhere: `Z` or an offset, and UTC when neither."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso8601(text: str) -> datetime:
    """An aware datetime; a time without an offset is taken as UTC. ValueError if `text` is not
    ISO 8601 (the callers word their own message: a CLI option, a query parameter, a body member)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
