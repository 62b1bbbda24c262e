"""The internal orders view's query string (streams/order_index/internal.py): what a bad one says."""

from __future__ import annotations

import pytest

from streams.order_index.internal import orders_query
from streams.order_index.merge import Cursor

pytestmark = pytest.mark.unit


def test_a_good_query_parses_and_a_bad_one_says_which_part_is_wrong() -> None:
    assert orders_query({"state": "PENDING", "before": "1700", "after": "12:ord-1", "limit": "7"}) == \
        ("PENDING", 1700, Cursor(12, "ord-1"), 7)
    assert orders_query({"state": "WAITING", "before": "5"}) == ("WAITING", 5, None, 50)
    for bad, word in (({"state": "STUCK", "before": "1"}, "state"), ({"state": "PENDING", "before": "-1"}, "before"),
                      ({"state": "PENDING", "before": "1", "limit": "0"}, "limit"),
                      ({"state": "PENDING", "before": "1", "limit": "201"}, "limit"),
                      ({"state": "PENDING", "before": "1", "after": "ord-1"}, "cursor")):
        with pytest.raises(ValueError, match=word):
            orders_query(bad)
