"""Ingest's event loop: uvloop by default, asyncio's own on request; the no-work baseline of
`bench ingest` runs the same one."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from bench.nullserver import parse
from floor.settings import Settings
from ingest.gateway.server import loop_factory

pytestmark = pytest.mark.unit


def test_the_default_is_uvloop_and_asyncio_is_asyncio_s_loop() -> None:
    for kind, expected in ((Settings().ingest_event_loop, uvloop.Loop), ("asyncio", asyncio.SelectorEventLoop)):
        loop = loop_factory(kind)()
        try:
            assert isinstance(loop, expected), (kind, type(loop))
        finally:
            loop.close()


def test_the_nullserver_takes_the_same_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse(["--port", "1"]).event_loop == Settings().ingest_event_loop == "uvloop"
    monkeypatch.setenv("HOOKLOG_INGEST_EVENT_LOOP", "asyncio")
    assert parse(["--port", "1"]).event_loop == Settings().ingest_event_loop == "asyncio"
