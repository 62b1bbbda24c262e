"""The README's performance targets are the bench's (bench/targets.py): one table of targets,
the same figure names and target texts, row for row."""

from __future__ import annotations

import re

import pytest

from bench.targets import TARGETS
from tests.kafka_fixtures import REPO

pytestmark = pytest.mark.unit


def readme_targets(text: str) -> dict[str, str]:
    """figure -> target of the README's "## Performance" table."""
    section = text.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("|") and not re.match(r"\|[-| ]+\|$", line)]
    header, *body = rows
    figure, target = header.index("figure"), header.index("target")
    return {row[figure]: row[target] for row in body}


def test_the_reader_reads_a_table() -> None:
    text = "x\n## Performance\n\n| figure | measured | target |\n|---|---|---|\n| a | 1 | ≥ 2× |\n\n## Next\n| b | c | d |"
    assert readme_targets(text) == {"a": "≥ 2×"}


def test_the_readme_and_the_bench_have_the_same_targets() -> None:
    assert readme_targets((REPO / "README.md").read_text()) == {t.figure: t.text for t in TARGETS.values()}
