"""README.md and docs/: every relative link (and #anchor) resolves, every page is reachable from
the README, and the README's two commands are the ones CI and the e2e test run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMANDS = ("bash .ci/setup && .venv/bin/hooklog up --demo", "bash .ci/setup-tests && .venv/bin/python -m pytest")


def unfenced(text: str) -> str:
    """The text without fenced code blocks (whose `#` lines are no headings)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", unfenced(text))


def anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lower-case, punctuation (inline code's backticks too, not its text)
    dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", unfenced(page.read_text()), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text())) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_points_at_an_existing_file_and_heading(page: Path) -> None:
    found = links(page)
    assert found or page.name != "README.md"
    for target in found:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: {target} -> {resolved} does not exist"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading #{anchor} in {resolved.name}"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(REPO / t.partition("#")[0]).resolve() for t in links(REPO / "README.md")}
    assert set(PAGES[1:]) <= linked, sorted(p.name for p in set(PAGES[1:]) - linked)


def test_the_readme_opens_with_the_two_commands() -> None:
    """CI runs the second (`.ci/run`), tests/e2e/test_up_demo.py the first: they must stay verbatim."""
    text = (REPO / "README.md").read_text()
    first_block = re.search(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)
    assert first_block is not None
    lines = [line for line in first_block.group(1).splitlines() if line and not line.startswith("#")]
    assert lines == list(COMMANDS)
    assert text.index("```bash") < text.index("\n## ")
    run = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert run == COMMANDS[1].split(" && "), "`.ci/run` must run the README's test command"


def test_the_demo_setup_installs_no_test_only_part() -> None:
    """The first command stays light: a browser and Alertmanager come with the test setup only."""
    demo, tests = ((REPO / ".ci" / name).read_text() for name in ("setup", "setup-tests"))
    assert "apt-get" not in demo and "[dev]" not in demo
    assert "chromium" in tests and "prometheus-alertmanager" in tests and "bash .ci/setup" in tests
