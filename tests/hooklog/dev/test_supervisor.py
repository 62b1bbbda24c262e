"""`hooklog up`'s supervisor with real child processes: a crash loop backs off, a child that
ignores SIGTERM is killed after the grace period, the parent-death signal is set in the child."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hooklog.dev.supervisor import Child, Supervisor, die_with_parent, exit_text

pytestmark = pytest.mark.unit
NOWHERE = "http://127.0.0.1:9/readyz"  # discard port: never ready


def child(code: str) -> Child:
    return Child("crasher", [sys.executable, "-c", code], {}, NOWHERE)


def test_a_child_that_keeps_dying_is_restarted_with_a_growing_backoff(tmp_path: Path) -> None:
    said: list[str] = []
    crasher = child("raise SystemExit(3)")
    supervisor = Supervisor([crasher], say=said.append, cwd=tmp_path, max_backoff_s=4)
    supervisor.start_all()
    delays = []
    for _ in range(4):
        assert crasher.proc is not None
        crasher.proc.wait(timeout=60)
        supervisor.tick()  # notices the death
        assert crasher.restart_at is not None
        delays.append(round(crasher.restart_at - time.monotonic()))
        crasher.restart_at = time.monotonic()  # the test does not sit out the backoff
        supervisor.tick()  # starts it again
    assert delays == [1, 2, 4, 4]
    assert said[0].startswith("crasher (pid ") and "exited with code 3; starting it again in 1s" in said[0]
    assert "crasher restarted" in said[1] and "restart #1" in said[1]
    supervisor.stop()


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = child("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ok', flush=True); time.sleep(600)")
    supervisor = Supervisor([stubborn], say=lambda _: None, cwd=tmp_path, grace_s=0.5)
    stubborn.proc = subprocess.Popen(stubborn.argv, stdout=subprocess.PIPE)
    assert stubborn.proc.stdout is not None and stubborn.proc.stdout.readline() == b"ok\n"
    supervisor.stop()
    assert stubborn.proc.returncode == -signal.SIGKILL
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN  # handlers restored


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_the_child_asks_for_sigterm_when_its_parent_dies() -> None:
    done = subprocess.run([sys.executable, "-c", "import ctypes; v = ctypes.c_int(); "
                           "ctypes.CDLL(None).prctl(2, ctypes.byref(v), 0, 0, 0); print(v.value)"],  # PR_GET_PDEATHSIG
                          capture_output=True, text=True, preexec_fn=die_with_parent(), check=True)  # noqa: PLW1509
    assert int(done.stdout) == signal.SIGTERM


def test_exit_text_names_signals() -> None:
    assert exit_text(-9) == "signal SIGKILL" and exit_text(1) == "code 1"
