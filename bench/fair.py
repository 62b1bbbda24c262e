"""Fair comparisons on a noisy, shared machine: interleaved rounds and paired ratios.

A figure and its baselines are measured in rounds, each round running every arm once, the
order rotated round by round (A,B,C / B,C,A / C,A,B …) so neither arm always runs first or
last. A slow minute (someone else's test run) then hits one round of every arm instead of one
arm's whole run. What is reported: the median of each arm's values, and for every baseline the
median of the per-round ratios (figure ÷ baseline within one round), which cancels load that
both arms of a round saw.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

Arm = Callable[[int], dict[str, Any]]
"""One arm's run in round `i`: returns its measurements (at least the figure's key)."""


def interleave(arms: dict[str, Arm], rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Run every arm once per round, rotating the order; {arm: [round 0's result, …]}."""
    names = list(arms)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for i in range(rounds):
        shift = i % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            result = dict(arms[name](i))
            result["round"] = i
            out[name].append(result)
    return out


def values(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [float(run[key]) for run in runs]


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def paired_ratios(figure: list[float], baseline: list[float]) -> list[float]:
    """figure[i] / baseline[i] for each round where the baseline is positive."""
    return [f / b for f, b in zip(figure, baseline, strict=True) if b > 0]


def paired(figure: list[float], baseline: list[float]) -> dict[str, Any]:
    """Median of the per-round ratios, their spread, and the medians of both sides."""
    ratios = paired_ratios(figure, baseline)
    return {"paired_ratio": round(median(ratios), 4), "ratios": [round(r, 4) for r in ratios],
            "ratio_min": round(min(ratios), 4) if ratios else None,
            "ratio_max": round(max(ratios), 4) if ratios else None,
            "figure_median": median(figure), "baseline_median": median(baseline), "rounds": len(ratios)}
