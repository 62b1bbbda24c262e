"""The C library, loaded once for the process: the worker's malloc settings (streams/worker/
memory.py) and `up`'s parent-death signal (hooklog/dev/supervisor.py) call into it.

`CDLL(None)` is the process's own symbol table, which holds the C library's functions on Linux
(and on macOS); None where it cannot be loaded. Callers look up the function they need with
`getattr(libc(), name, None)`: glibc's `mallopt` is missing on musl, `prctl` off Linux.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache


@lru_cache(maxsize=1)
def libc() -> ctypes.CDLL | None:
    """The C library (errno kept for `ctypes.get_errno`), or None."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
