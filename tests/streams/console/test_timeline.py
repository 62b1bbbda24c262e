"""Timeline rows: late and twice marks from raw records, history rows for what was not read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from projections.orders import fold_order
from schemas.envelope import Envelope, encode_envelope
from streams.console.params import parse_duration, parse_page
from streams.console.timeline import raw_event, timeline

pytestmark = pytest.mark.unit


def test_a_redelivery_is_twice_and_an_older_event_after_a_newer_one_is_late(koywe_envelope: Callable[..., Envelope]) -> None:
    created, received = koywe_envelope("payment_created", seconds=0), koywe_envelope("payment_received", seconds=60)
    again = koywe_envelope("payment_received", seconds=60)  # same provider event, another delivery
    arrivals = [received, created, again]
    raws = [raw_event(encode_envelope(e), offset) for offset, e in enumerate(arrivals)]
    state = None
    from schemas.decoding import decode_fact
    for e in arrivals:
        state, _ = fold_order(state, decode_fact(e))
    rows = timeline(state.history, [r for r in raws if r is not None])
    assert [(r.event_name, r.late, r.twice) for r in rows] == [
        ("payment_received", False, False), ("payment_created", True, False), ("payment_received", False, True)]
    assert rows[2].delivery_id == again.id and rows[0].status == "PENDING"
    only_history = timeline(state.history, [])
    assert {r.delivery_id for r in only_history} == {created.id, received.id}
    assert all(r.body is None and r.problem == "raw record not read" for r in only_history)


def test_a_body_is_kept_as_received_text(koywe_envelope: Callable[..., Envelope]) -> None:
    e = koywe_envelope("payment_created", note="<script>alert(1)</script>")
    raw = raw_event(encode_envelope(e), 0)
    assert raw is not None and raw.body == e.body.decode() and "<script>" in raw.body
    assert raw_event(b"not an envelope", 1) is None


def test_durations_and_pages() -> None:
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90 and parse_duration("2d") == 172800
    for bad in ("", "1x", "h", "1h 2"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_page(None, None) == (1, 50) and parse_page("3", "20") == (3, 20)
    with pytest.raises(ValueError):
        parse_page("0", "20")
    assert timedelta(seconds=parse_duration("15m")) == timedelta(minutes=15)
