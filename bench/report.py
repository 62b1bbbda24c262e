"""Results: figures beside their same-run baselines, as a terminal table, Markdown and JSON.

Raw results go to `bench/results/<name>-<timestamp>.json`; the latest table to
`bench/results/latest.md`. Ratios are always figure / baseline from the same run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR
from bench.fair import median, paired
from bench.machine import machine


@dataclass
class Baseline:
    """A reference measured in the same run; `value` None means it could not run (see `note`)."""

    name: str
    value: float | None
    note: str = ""
    rounds: list[float] = field(default_factory=list)  # its value in each round (value = their median)
    paired_ratio: float | None = None  # median over rounds of figure ÷ this, within the round
    ratios: list[float] = field(default_factory=list)  # those per-round ratios


def paired_baseline(name: str, figure_rounds: list[float], rounds: list[float], note: str = "") -> Baseline:
    """A baseline measured in the same interleaved rounds as the figure: median value, and the
    median of the per-round ratios (bench/fair.py)."""
    stats = paired(figure_rounds, rounds)
    return Baseline(name, median(rounds) or None, note, rounds=list(rounds), paired_ratio=stats["paired_ratio"],
                    ratios=stats["ratios"])


@dataclass
class Figure:
    """One measured figure, its baselines, and whether it meets the issue's target."""

    bench: str
    name: str
    value: float
    unit: str
    baselines: list[Baseline] = field(default_factory=list)
    target: str = ""
    met: bool | None = None
    note: str = ""
    rounds: list[float] = field(default_factory=list)  # the figure in each round (value = their median)

    def ratio(self, baseline: Baseline) -> float | None:
        """The paired ratio when both were measured in rounds, else figure ÷ baseline."""
        if baseline.paired_ratio is not None:
            return baseline.paired_ratio
        return self.value / baseline.value if baseline.value else None


@dataclass
class BenchResult:
    """What one benchmark returns: its figures, the parameters it ran with, and extra detail."""

    name: str
    figures: list[Figure]
    params: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    machine: dict[str, Any] = field(default_factory=machine)  # CPU model etc., in every result


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit in ("ms",):
        text = f"{value:.1f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def rows(results: list[BenchResult]) -> list[list[str]]:
    """One row per (figure, baseline): benchmark, figure, value, rounds, baseline, its value, ratio (paired
    median when measured in rounds), target, met."""
    out: list[list[str]] = []
    for result in results:
        if not result.figures and "error" in result.detail:
            out.append([result.name, "failed", "", "", str(result.detail["error"])[:160], "", "", "", ""])
        for fig in result.figures:
            met = {True: "yes", False: "**no**", None: "—"}[fig.met]
            bases = fig.baselines or [Baseline("—", None)]
            for i, base in enumerate(bases):
                ratio = fig.ratio(base)
                first = i == 0
                out.append([
                    fig.bench if first else "", fig.name if first else "", _num(fig.value, fig.unit) if first else "",
                    (str(len(fig.rounds)) if fig.rounds else "1") if first else "",
                    base.name + (f" ({base.note})" if base.note else ""),
                    _num(base.value, fig.unit) if base.value is not None else ("—" if base.name == "—" else "n/a"),
                    f"{ratio:.2f}×" if ratio is not None else "—",
                    fig.target if first else "", met if first else "",
                ])
    return out


HEADER = ["benchmark", "figure", "value (median)", "rounds", "baseline (same run)", "baseline value (median)",
          "ratio (median of paired)", "target", "met"]


def machine_line(info: dict[str, Any] | None = None) -> str:
    info = info or machine()
    return f"{info['cores']} cores ({info['cpu'] or 'unknown CPU'}), Python {info['python']}"



def markdown(results: list[BenchResult], when: datetime) -> str:
    info = machine()
    lines = [
        f"Measured {when:%Y-%m-%d %H:%M} UTC on {machine_line(info)}, the local single-node KRaft broker; "
        "shared, noisy machine. Figures and baselines run in interleaved rounds (order rotated each round); "
        "values are medians, ratios the median of the per-round ratios.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(results)]
    notes = [f"- **{r.name}** {f.name}: {f.note}" for r in results for f in r.figures if f.note]
    background = {r.name: r.detail["background_busy_cores_before"] for r in results
                  if "background_busy_cores_before" in r.detail}
    if background:
        notes.append("- cores already busy on the machine (other users) just before each benchmark: "
                     + ", ".join(f"{name} {cores:.2f}" for name, cores in background.items()))
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def print_table(results: list[BenchResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="hooklog benchmarks (every figure beside a baseline from the same run)",
                  caption=f"CPU: {machine_line()}; medians over interleaved rounds, ratio = median of paired ratios")
    for column in HEADER:
        table.add_column(column)
    for row in rows(results):
        table.add_row(*(cell.replace("**", "") for cell in row))
    Console().print(table)


def save(name: str, results: list[BenchResult], *, latest: bool = True) -> Path:
    """Write the JSON (and latest.md); returns the JSON path."""
    when = datetime.now(UTC)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{when:%Y%m%dT%H%M%SZ}.json"
    doc = {"name": name, "at": when.isoformat(), "machine": machine(), "results": [asdict(r) for r in results]}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    tmp.rename(path)
    if latest:
        (RESULTS_DIR / "latest.md").write_text(markdown(results, when))
    return path


def load(path: Path) -> list[BenchResult]:
    """The results of a saved JSON, as objects again."""
    doc = json.loads(Path(path).read_text())
    out = []
    for raw in doc["results"]:
        figures = [Figure(**{**f, "baselines": [Baseline(**b) for b in f["baselines"]]}) for f in raw["figures"]]
        out.append(BenchResult(**{**raw, "figures": figures}))
    return out


def write_latest(paths: list[Path]) -> Path:
    """latest.md from saved runs (e.g. the suite plus a 1M-order memory run), in the given order."""
    results = [r for p in paths for r in load(p)]
    target = RESULTS_DIR / "latest.md"
    first = json.loads(Path(paths[0]).read_text())
    text = markdown(results, datetime.fromisoformat(first["at"]))
    sources = ", ".join(f"`{Path(p).name}`" for p in paths)
    target.write_text(text.replace("\n\n", f"\n\nFrom {sources}.\n\n", 1))
    return target
