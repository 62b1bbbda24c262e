"""Run the worker process: topics first (with hooklog's configs), stores checked, then Faust's own
Worker over the composed app (streams/compose/worker.py)."""

from __future__ import annotations

import asyncio
import gc

from faust.worker import Worker as FaustWorker

from floor.kafka.names import store_dir
from floor.kafka.replication import with_cluster_replication
from floor.logs import configure_logging, get_logger, secrets_of
from floor.settings import Settings
from floor.tls import plain_http_warning
from streams.compose.worker import build_worker
from streams.worker.limits import ensure_states_fit
from streams.worker.memory import cap_malloc_arenas
from streams.worker.runner import discard_stores_of_another_cluster, new_event_loop, store_identity, wait_for_topics

#: gen-0 collections every this many net allocations (CPython's default: 700); measured in bench fold
GC_YOUNG_THRESHOLD = 20_000


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    cap_malloc_arenas(settings.worker_malloc_arenas)
    # hooklog's logs (floor/logs.py) instead of Faust's coloured ones: override_logging=False below.
    configure_logging("worker", settings.log_level, secrets=secrets_of(settings), log_format=settings.log_format)
    if not settings.api_token_list:
        get_logger("worker").warning("HOOKLOG_API_TOKENS is unset: the query API answers 503 until it is set")
    wait_for_topics(settings)
    asyncio.run(ensure_states_fit(settings))  # a full-history state fits every topic it goes to
    reason = discard_stores_of_another_cluster(settings, asyncio.run(store_identity(settings)))
    if reason:
        get_logger("worker").warning("local table stores discarded, rebuilding them from the changelogs",
                                     store=str(store_dir(settings)), reason=reason)
    settings = asyncio.run(with_cluster_replication(settings))  # before the worker's own loop is made current
    loop = new_event_loop(settings.worker_event_loop)
    worker = build_worker(settings).worker
    # Everything built so far lives as long as the process: keep it out of the collector's scans,
    # and collect the young generation less often (the fold allocates many short-lived objects).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    faust_worker = FaustWorker(worker.app, loglevel=loglevel, quiet=True, override_logging=False, loop=loop)
    faust_worker.spinner = None  # it writes terminal escapes into the JSON log stream
    warning = plain_http_warning(settings.worker_host, worker.tls)
    if warning:
        get_logger("worker").warning(warning)
    scheme = "http" if worker.tls is None else "https"
    get_logger("worker").info("starting", raw_topic=settings.topic("raw"),
                              api=f"{scheme}://{settings.worker_host}:{settings.worker_port}",
                              advertised=settings.advertised_url,
                              event_loop=type(loop).__module__.split(".")[0],
                              fast_paths=worker.fast_paths,
                              **({} if worker.tls is None else {"sha256": worker.tls.fingerprint}))
    faust_worker.execute_from_commandline()
