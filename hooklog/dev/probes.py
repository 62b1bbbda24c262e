"""Waiting for a child process's HTTP endpoint: shared by `hooklog up`, the tests and bench."""

from __future__ import annotations

import ssl
import subprocess
import time
import urllib.request

from schemas.errors import HooklogError


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None,
              context: ssl.SSLContext | None = None) -> None:
    """Return once `url` answers 200; HooklogError if `proc` exits first or time runs out.
    An https `url` is verified with `context` (None: the system's trust store)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HooklogError(f"{proc.args!r} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1, context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise HooklogError(f"{url} did not answer within {timeout_s:.0f}s")
