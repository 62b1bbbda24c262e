"""Query parameters of the console's pages: durations, pages, times. Pure; ValueError says what is wrong."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from schemas.times import parse_time
from streams.order_index.merge import MAX_PAGE_SIZE

_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """`90s`, `15m`, `1h`, `2d`, `1h30m` -> seconds."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"older_than={text!r} is not a duration like 90s, 15m, 1h or 2d")
    return sum(int(n) * _UNIT_S[u] for n, u in parts)


def parse_page(page: str | None, size: str | None, default_size: int = 50) -> tuple[int, int]:
    """(1-based page, page size) from the query string."""
    page_n = int(page) if page and page.isdigit() else 1
    size_n = int(size) if size and size.isdigit() else default_size
    if page_n < 1 or not 1 <= size_n <= MAX_PAGE_SIZE:
        raise ValueError(f"page must be 1 or more, size 1..{MAX_PAGE_SIZE}")
    return page_n, size_n


def parse_since(text: str | None, now: datetime, default_s: int) -> datetime:
    """An ISO 8601 time, or a duration back from now (`1h`); default `default_s` ago."""
    if not text:
        return datetime.fromtimestamp(now.timestamp() - default_s, UTC)
    try:
        return datetime.fromtimestamp(now.timestamp() - parse_duration(text), UTC)
    except ValueError:
        pass
    try:
        return parse_time(text.strip())
    except ValueError:
        raise ValueError(f"since={text!r} is neither an ISO 8601 time nor a duration like 1h") from None
