"""Run the worker process: topics first (with hooklog's configs), then Faust's own Worker."""

from __future__ import annotations

import asyncio
import time

from faust.worker import Worker as FaustWorker

from ingest.topics import ensure_topics
from schemas.errors import BrokerUnavailableError
from schemas.settings import Settings
from streams.app import build_worker


def wait_for_topics(settings: Settings, patience_s: float = 120.0) -> None:
    """Create hooklog's topics, retrying while the broker comes up."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            asyncio.run(ensure_topics(settings, timeout_s=10))
            return
        except BrokerUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    wait_for_topics(settings)
    worker = build_worker(settings)
    FaustWorker(worker.app, loglevel=loglevel, quiet=True).execute_from_commandline()
