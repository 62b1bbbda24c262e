"""Faust's floor, stock vs hooklog's fast paths, interleaved in rounds (process CPU, not wall time).

    python -m bench.floor_rounds [rounds] [records]

Each round runs `python -m bench.faust_floor <records> take stock` and `... fast` (the order
alternating between rounds, so background load drifting over time hits both alike) and prints
each figure, the medians and the median of the per-round ratios, with the CPU model; the raw
figures go to bench/results/floor-rounds-<timestamp>.json. The target (issue 12): ≤ 45 µs CPU
per record with the fast paths.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.report import machine
from bench.targets import TARGETS

FIGURE = re.compile(r"faust take (stock|fast): ([\d,]+) records/s, (\d+) µs CPU per record")


def floor(variant: str, records: int) -> tuple[float, float]:
    """(µs CPU per record, records/s) of one run."""
    done = subprocess.run([sys.executable, "-m", "bench.faust_floor", str(records), "take", variant],
                          capture_output=True, text=True, timeout=900)
    found = FIGURE.search(done.stdout + done.stderr)
    if found is None:
        raise RuntimeError(f"bench.faust_floor {variant} printed no figure:\n{done.stdout}\n{done.stderr[-2000:]}")
    return float(found[3]), float(found[2].replace(",", ""))


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 54_000
    print(f"CPU: {machine()['cpu']}, {records:,} records per run", flush=True)
    seen: dict[str, list[float]] = {"stock": [], "fast": []}
    for number in range(rounds):
        order = ("stock", "fast") if number % 2 == 0 else ("fast", "stock")
        for variant in order:
            us, per_s = floor(variant, records)
            seen[variant].append(us)
            print(f"round {number + 1} {variant:6}: {us:.0f} µs CPU/record, {per_s:,.0f} records/s", flush=True)
    ratios = [s / lv for s, lv in zip(seen["stock"], seen["fast"], strict=True)]
    when = datetime.now(UTC)
    out = Path(__file__).parent / "results" / f"floor-rounds-{when:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"name": "floor-rounds", "at": when.isoformat(), "machine": machine(),
                               "records": records, "us_cpu_per_record": seen, "stock_over_fast": ratios},
                              indent=1) + "\n")
    print(f"median stock {statistics.median(seen['stock']):.0f} µs, fast {statistics.median(seen['fast']):.0f} µs, "
          f"stock/fast {statistics.median(ratios):.2f}x (median of per-round ratios; target {TARGETS['floor'].text} µs)")


if __name__ == "__main__":
    main()
