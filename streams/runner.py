"""Run the worker process: topics first (with hooklog's configs), then Faust's own Worker."""

from __future__ import annotations

import asyncio
import time

from faust.worker import Worker as FaustWorker

from ingest.logs import configure_logging, get_logger, secrets_of
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
    # JSON logs (ingest/logs.py) instead of Faust's coloured ones: override_logging=False below.
    configure_logging("worker", settings.log_level, secrets=secrets_of(settings))
    if not settings.api_token_list:
        get_logger("worker").warning("HOOKLOG_API_TOKENS is unset: the query API answers 503 until it is set")
    wait_for_topics(settings)
    worker = build_worker(settings)
    faust_worker = FaustWorker(worker.app, loglevel=loglevel, quiet=True, override_logging=False)
    faust_worker.spinner = None  # it writes terminal escapes into the JSON log stream
    get_logger("worker").info("starting", raw_topic=settings.topic("raw"),
                              api=f"http://{settings.worker_host}:{settings.worker_port}")
    faust_worker.execute_from_commandline()
