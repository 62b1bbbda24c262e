"""The worker process's malloc: fewer glibc arenas, and freed memory handed back to the system.

RocksDB's, the Kafka consumer's and the web server's threads each get a malloc arena of their
own by default (8 per core), and memory freed in one (a drained 16 MiB fetch buffer, a batch's
objects) stays in the process: glibc returns only the top of a heap by itself. Both settings are
no-ops without glibc (musl, macOS). Figures: docs/performance.md (worker RSS at 1M orders).
"""

from __future__ import annotations

from floor.libc import libc

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def cap_malloc_arenas(arenas: int) -> bool:
    """At most `arenas` malloc arenas for the process (0: glibc's default); call it before any
    thread starts. False where there is no glibc."""
    mallopt = getattr(libc(), "mallopt", None)
    return arenas > 0 and mallopt is not None and mallopt(M_ARENA_MAX, arenas) == 1


def trim_malloc() -> bool:
    """Give the free pages of every arena back to the system (`malloc_trim(0)`, which since
    glibc 2.8 also releases whole free pages inside a heap). True when some memory was released."""
    trim = getattr(libc(), "malloc_trim", None)
    return bool(trim is not None and trim(0))
