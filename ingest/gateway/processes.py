"""`hooklog ingest --processes N`: N whole ingest processes sharing one port (SO_REUSEPORT).

One Python process uses at most one core; where there are more, the kernel spreads new
connections over N processes listening on the same address. Each child is a complete ingest
(its own idempotent producer, in-flight limit, `/readyz` and `/metrics`: a scrape reaches one
process, so scrape each child's counters or keep N = 1 where exact totals on one endpoint
matter). The parent serves nothing; it starts, watches and stops the children:
SIGTERM/SIGINT is passed on, so each drains exactly as a single ingest does (a child also
stops if the parent dies), and if one child exits on its own the others are stopped and the
parent exits 1, so a supervisor restarts the set instead of running on with fewer processes.
With TLS each child loads the certificate and watches its files itself; SIGHUP to the parent
is passed on, so every child reloads it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from floor.logs import configure_logging, get_logger, secrets_of
from floor.settings import Settings
from ingest.gateway.server import serve, shutdown_timeout, url
from schemas.errors import ConfigError

log = get_logger("ingest")
MAX_PROCESSES = 64


def _child(settings: Settings) -> None:
    # A process group of its own: a Ctrl-C (or a group-wide signal) reaches the parent only, which
    # passes on exactly one SIGTERM. The child stops by itself too if the parent dies.
    os.setpgrp()
    if settings.tls_cert_file is not None:  # a SIGHUP before the server's handler is set changes nothing
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_terminate_when_ready, args=(parent.sentinel,), daemon=True).start()
    serve(settings, reuse_port=True)


def _terminate_when_ready(sentinel: int) -> None:
    wait([sentinel])
    os.kill(os.getpid(), signal.SIGTERM)


def _stop(children: list[BaseProcess], timeout_s: float) -> None:
    """SIGTERM every live child (each drains), then wait; SIGKILL what is left after `timeout_s`."""
    for child in children:
        if child.is_alive() and child.pid is not None:
            child.terminate()
    for child in children:
        child.join(timeout_s)
        if child.is_alive():
            log.error("ingest process did not stop in time; killing it", pid=child.pid)
            child.kill()
            child.join()


def serve_processes(settings: Settings, processes: int) -> int:
    """Run `processes` ingest children on one port until a signal or a child's exit; the exit
    code: 0 after a signal when every child stopped cleanly, else 1."""
    if not 1 <= processes <= MAX_PROCESSES:
        raise ConfigError(f"--processes must be between 1 and {MAX_PROCESSES}, not {processes}")
    configure_logging("ingest", settings.log_level, secrets=secrets_of(settings), log_format=settings.log_format)
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    children: list[BaseProcess] = []

    def pass_on(signum: int, _: FrameType | None) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    if settings.tls_cert_file is not None:  # each child reloads its certificate
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, pass_on)
    context = multiprocessing.get_context("spawn")  # no forked event loop, sockets or Kafka state
    try:
        for _ in range(processes):
            child = context.Process(target=_child, args=(settings,), name="hooklog-ingest", daemon=False)
            child.start()
            children.append(child)
        log.info("ingest processes started", processes=processes, pids=[c.pid for c in children],
                 url=url(settings))
        while not stopping and all(c.is_alive() for c in children):
            wait([c.sentinel for c in children], timeout=0.5)
        if not stopping:
            log.error("an ingest process exited on its own; stopping the others",
                      exit_codes={c.pid: c.exitcode for c in children if not c.is_alive()})
    finally:
        _stop(children, shutdown_timeout(settings) + 5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    clean = stopping and all(c.exitcode == 0 for c in children)
    log.info("ingest processes stopped", exit_codes=[c.exitcode for c in children])
    return 0 if clean else 1
