"""Reading a webhook body: at once when it has fully arrived, else within the body deadline."""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from aiohttp import streams
from aiohttp.test_utils import make_mocked_request

from ingest.gateway.app import read_body

pytestmark = pytest.mark.unit


def request_with(reader: streams.StreamReader) -> object:
    return make_mocked_request("POST", "/webhooks/koywe", payload=reader)


def new_reader() -> streams.StreamReader:
    return streams.StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())


async def test_a_fully_arrived_body_is_read_whole_and_limited() -> None:
    for limit, expected in ((10, b"0123456789"), (9, None)):
        reader = new_reader()
        reader.feed_data(b"01234")
        reader.feed_data(b"56789")
        reader.feed_eof()
        assert await read_body(request_with(reader), limit, 0.01) == expected  # type: ignore[arg-type]


async def test_a_body_still_arriving_is_awaited_until_its_end() -> None:
    reader = new_reader()
    reader.feed_data(b"{}")
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, reader.feed_data, b"[]")
    loop.call_later(0.1, reader.feed_eof)
    assert await read_body(request_with(reader), 100, 5) == b"{}[]"  # type: ignore[arg-type]


async def test_a_body_that_stalls_raises_timeout() -> None:
    reader = new_reader()
    reader.feed_data(b"{")
    with pytest.raises(TimeoutError):
        await read_body(request_with(reader), 100, 0.05)  # type: ignore[arg-type]


async def test_a_body_over_the_limit_stops_reading_at_once() -> None:
    reader = new_reader()
    reader.feed_data(b"x" * 20)  # no end yet: the limit answers before the deadline
    assert await read_body(request_with(reader), 10, 5) is None  # type: ignore[arg-type]
