"""`bench replay --compare`'s child: one source tree's `replay_topic` over the bench's raw topic.

Run as a script with that tree as its working directory and first on PYTHONPATH, so every
import (streams, projections, schemas) is that tree's; Settings come from the environment the
bench gives (`settings_env`). Replays once to warm up (imports, the forkserver), then once
measured, and prints one JSON line: events, events/s, this process's CPU µs per event.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


async def _replay(processes: int | None) -> tuple[int, float, float]:
    from floor.settings import Settings

    try:
        from streams.replay.replay import replay_topic
    except ImportError:  # trees from before streams/replay/ was a package
        from streams.replay import replay_topic  # type: ignore[no-redef]
    started, cpu = time.perf_counter(), time.process_time()
    replayed = await replay_topic(Settings(), processes=processes)
    return replayed.events, time.perf_counter() - started, time.process_time() - cpu


def main(processes: int | None) -> dict[str, Any]:
    asyncio.run(_replay(processes))
    events, seconds, cpu = asyncio.run(_replay(processes))
    return {"events": events, "seconds": seconds, "events_per_s": events / seconds if seconds else 0.0,
            "cpu_us_per_event": 1e6 * cpu / max(events, 1)}


if __name__ == "__main__":  # the pool's forkserver imports this module as __main__ too
    print(json.dumps(main(int(sys.argv[1]) or None if len(sys.argv) > 1 else 1)))
