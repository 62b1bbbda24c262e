"""The freshness headers and the bounds a state request may set (streams/api/freshness.py)."""

from __future__ import annotations

import pytest

from streams.api.freshness import Bounds, Position, freshness_headers, parse_position, read_bounds

pytestmark = pytest.mark.unit


def test_the_headers_say_partition_offset_lag_and_worker() -> None:
    assert freshness_headers(3, 40, 45, "w1") == {"Hooklog-Partition": "3", "Hooklog-Offset": "40",
                                                  "Hooklog-Lag": "5", "Hooklog-Worker": "w1"}
    assert freshness_headers(0, 7, 7, "w0")["Hooklog-Lag"] == "0"
    assert "Hooklog-Lag" not in freshness_headers(0, 7, None, "w0")  # no fetch yet: unknown, not 0
    assert freshness_headers(0, 9, 7, "w0")["Hooklog-Lag"] == "0"  # an end offset fetched before the last fold


def test_a_position_is_what_ingest_gives() -> None:
    assert parse_position("2:1234") == Position(2, 1234) and str(Position(2, 1234)) == "2:1234"
    for bad in ("", "2", "2:", ":5", "-1:5", "2:-5", "a:b", "2:5:1", " 2:5"):
        assert parse_position(bad) is None, bad


def test_bounds_from_the_query() -> None:
    assert read_bounds({}) == Bounds()
    assert read_bounds({"min_position": "1:9"}) == Bounds(Position(1, 9), None, 10.0)  # wait defaults to 10 s
    assert read_bounds({"min_position": "1:9", "wait": "0.5", "max_lag": "0"}) == Bounds(Position(1, 9), 0, 0.5)
    assert read_bounds({"max_lag": "12"}) == Bounds(None, 12, 0.0)
    for bad in ({"min_position": "x"}, {"min_position": "1:2", "wait": "31"}, {"min_position": "1:2", "wait": "no"},
                {"max_lag": "-1"}, {"max_lag": "1.5"}):
        with pytest.raises(ValueError):
            read_bounds(bad)
