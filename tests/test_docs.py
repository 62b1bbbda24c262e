"""README.md and docs/: every relative link (and #anchor) resolves, every page is reachable from
the README, the README's two commands are the ones CI and the e2e test run, every setting's
environment name is in docs/configuration.md, and every module or file path a page names exists
(so a move or a rename cannot leave the docs stale silently)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import AliasChoices

from floor.settings import Settings

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


def env_names() -> dict[str, list[str]]:
    """setting -> the environment names it is read from (its aliases, old names included)."""
    prefix = Settings.model_config.get("env_prefix") or ""
    names: dict[str, list[str]] = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[name] = [c for c in alias.choices if isinstance(c, str) and c.isupper()]
        else:
            names[name] = [alias if isinstance(alias, str) else f"{prefix}{name.upper()}"]
    return names


def documented_env_names(text: str) -> set[str]:
    """Every `HOOKLOG_…` name in the text, the table's shorthand `HOOKLOG_A_B` / `_C` read as
    HOOKLOG_A_C too (the suffix replaces as many of the name's last parts as it has)."""
    found = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", text))
    for full, suffix in re.findall(r"`([A-Z][A-Z0-9_]+)` / `(_[A-Z0-9_]+)`", text):
        kept = full.split("_")[: -len(suffix.split("_")[1:])]
        found.add("_".join(kept) + suffix)
    return found


def test_the_shorthand_is_read() -> None:
    assert documented_env_names("| `HOOKLOG_TLS_CERT_FILE` / `_KEY_FILE` | `HOOKLOG_X` |") == {
        "HOOKLOG_TLS_CERT_FILE", "HOOKLOG_TLS_KEY_FILE", "HOOKLOG_X"}


def test_every_setting_and_alias_is_in_the_configuration_page() -> None:
    documented = documented_env_names((REPO / "docs" / "configuration.md").read_text())
    names = env_names()
    assert "HOOKLOG_WORKER_FAUST_LEVERS" in names["worker_fast_paths"]  # an old name counts too
    missing = {name: [e for e in envs if e not in documented] for name, envs in names.items()}
    assert {name: envs for name, envs in missing.items() if envs} == {}


#: the first-party packages a dotted name may start with (topic names such as `hooklog.raw.v1` aside)
PACKAGES = ("schemas", "projections", "floor", "ingest", "streams", "hooklog", "bench", "tests")
#: a file path rooted at a folder of the repo, with an extension (`streams/api/views.py`)
FILE_PATH = re.compile(r"(?<![\w./<>-])((?:%s|docs|\.ci)/(?:[\w.-]+/)*[\w-][\w.-]*\.\w+)(?![\w*]|\.\w)"
                       % "|".join(PACKAGES))
DOTTED = re.compile(r"(?<![\w./-])((?:%s)(?:\.\w+)+)" % "|".join(PACKAGES))
TOPIC = re.compile(r"\.v\d+$")


def top_level_names(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def dotted_exists(name: str, root: Path = REPO) -> bool:
    """`a.b.c` is a module or package, or a module and a name it defines at its top level."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:cut])
        module = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
        if module.exists():
            rest = parts[cut:]
            return not rest or (len(rest) == 1 and rest[0] in top_level_names(module))
    return False


def named_paths(text: str) -> tuple[list[str], list[str]]:
    """(file paths, dotted module names) a page names, fenced code and inline code included."""
    dotted = [d for d in DOTTED.findall(text) if not TOPIC.search(d)]
    return FILE_PATH.findall(text), dotted


def test_the_path_finder_sees_paths_and_names_but_not_topics() -> None:
    files, dotted = named_paths("(`streams/access.py`), `streams.dlq.redrive`, `hooklog.raw.v1`, "
                                "`docs/img/console-*.png`, `<data_dir>/replay/x.json`, schemas/json/a.schema.json.")
    assert files == ["streams/access.py", "schemas/json/a.schema.json"] and dotted == ["streams.dlq.redrive"]
    assert not dotted_exists("streams.dlq.redrive") and dotted_exists("streams.ops.redrive")
    assert dotted_exists("streams.ops.redrive.redrive_values") and not dotted_exists("streams.ops.redrive.nothing")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_module_path_a_page_names_exists(page: Path) -> None:
    files, dotted = named_paths(page.read_text())
    assert [f for f in files if not (REPO / f).exists()] == []
    assert [d for d in dotted if not dotted_exists(d)] == []


#: a result file of the benchmarks, named without its folder (`fold-20261201T163936Z.json`)
RESULT_FILE = re.compile(r"(?<![\w/.-])([a-z][\w-]*-\d{8}T\d{6}Z\.(?:json|txt|md))\b")


def test_every_result_file_a_page_names_is_in_bench_results() -> None:
    named = {page.name: RESULT_FILE.findall(page.read_text()) for page in PAGES}
    assert "fold-20261201T163936Z.json" in named["performance.md"]
    assert {page: [f for f in files if not (REPO / "bench" / "results" / f).exists()]
            for page, files in named.items() if any(not (REPO / "bench" / "results" / f).exists() for f in files)} == {}
