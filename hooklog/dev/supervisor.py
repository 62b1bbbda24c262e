"""`hooklog up`'s child processes: start them, restart one that dies (with a backoff), stop them all.

No child outlives `up`. On Linux each child asks, between fork and exec, for SIGTERM when its
parent dies (prctl PR_SET_PDEATHSIG), so even a `kill -9` of `up` stops them; and `up` stops every
child itself on SIGTERM, Ctrl-C or an error: SIGTERM first, SIGKILL after a grace period.
A child that dies while `up` runs is started again after 1 s, 2 s, 4 s … (at most
`max_backoff_s`) while it keeps dying within `stable_s` of its start, so a crash loop does not spin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from floor.libc import libc
from schemas.errors import HooklogError

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive SIGTERM when this process dies (Linux only)."""
    # loaded here, in the parent: the child only calls into it between fork and exec
    c, parent = libc() if sys.platform.startswith("linux") else None, os.getpid()
    if c is None or not hasattr(c, "prctl"):
        return None

    def preexec() -> None:
        c.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def exit_text(code: int) -> str:
    """`-9` -> "signal SIGKILL", `1` -> "code 1"."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def answers_200(url: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Child:
    """One supervised process: what to run, where it says it is ready, and its restart state."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready: bool = False
    quick_deaths: int = 0  # consecutive deaths within `stable_s` of a start
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    children: list[Child]
    say: Callable[[str], None]
    cwd: Path = field(default_factory=Path.cwd)
    grace_s: float = 30.0
    stable_s: float = 60.0
    max_backoff_s: float = 30.0

    def start(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, env=child.env, cwd=self.cwd, preexec_fn=die_with_parent())  # noqa: PLW1509 - only prctl runs there
        child.started_at, child.ready, child.restart_at = time.monotonic(), False, None

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)

    def wait_ready(self, timeout_s: float) -> None:
        """Return once every child answers its ready URL; HooklogError if one exits first or time runs out."""
        deadline = time.monotonic() + timeout_s
        while not all(child.ready for child in self.children):
            for child in self.children:
                if child.ready:
                    continue
                assert child.proc is not None
                if child.proc.poll() is not None:
                    raise HooklogError(f"{child.name} exited with {exit_text(child.proc.returncode)} before "
                                       f"{child.ready_url} answered (its log is above)")
                child.ready = answers_200(child.ready_url)
            if time.monotonic() > deadline:
                late = ", ".join(c.ready_url for c in self.children if not c.ready)
                raise HooklogError(f"{late} did not answer within {timeout_s:.0f}s")
            time.sleep(0.2)

    def backoff(self, child: Child) -> float:
        return min(self.max_backoff_s, 2.0 ** max(child.quick_deaths - 1, 0))

    def tick(self) -> None:
        """One round: notice dead children, start those whose backoff is over, report recoveries."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self.start(child)
                    assert child.proc is not None
                    self.say(f"{child.name} restarted (pid {child.proc.pid}, restart #{child.restarts})")
                continue
            assert child.proc is not None
            code = child.proc.poll()
            if code is not None:
                child.quick_deaths = child.quick_deaths + 1 if now - child.started_at < self.stable_s else 1
                delay = self.backoff(child)
                child.restart_at, child.ready = now + delay, False
                self.say(f"{child.name} (pid {child.proc.pid}) exited with {exit_text(code)}; "
                         f"starting it again in {delay:.0f}s, the others keep serving")
            elif not child.ready and answers_200(child.ready_url, timeout_s=0.3):
                child.ready = True
                if child.restarts:
                    self.say(f"{child.name} is ready again ({child.ready_url})")

    def stop(self) -> None:
        """SIGTERM every running child, SIGKILL what is left after `grace_s`. Never interrupted by
        a second SIGTERM/Ctrl-C (that would leave children behind)."""
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
            for proc in running:
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.grace_s
            for proc in running:
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    self.say(f"pid {proc.pid} did not stop within {self.grace_s:.0f}s: killing it")
                    proc.kill()
                    proc.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
