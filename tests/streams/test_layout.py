"""The layout rules the guide sets: streams/ in sub-packages by job, each with a docstring and a
light `__init__`; no import cycles between streams' modules; the pure core (schemas/,
projections/) imports nothing of ingest/, streams/, Faust or aiokafka.

Imports are read from the source (AST), at any depth except `if TYPE_CHECKING:` blocks, so a
cycle hidden in a function-level import counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.kafka_fixtures import REPO

pytestmark = pytest.mark.unit

PURE = ("schemas", "projections")
NOT_IN_PURE = ("ingest", "streams", "faust", "aiokafka", "mode")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((REPO / package).rglob("*.py"))}


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported(path: Path, known: Mapping[str, Path]) -> Iterator[str]:
    """Every module `path` imports; `from a import b` means a.b when that is a known module."""
    stack: list[ast.AST] = [ast.parse(path.read_text(), str(path))]
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])])
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
        stack.extend(child for child in ast.iter_child_nodes(node)
                     if not (isinstance(child, ast.stmt) and _type_checking(child)))


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    return {name: {m for m in imported(path, modules) if m in modules and m != name} for name, path in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_streams_modules() -> None:
    modules = modules_of("streams")
    assert "streams.worker.app" in modules and "streams.api.views" in modules
    assert cycles(import_graph(modules)) == []


#: streams' sub-packages, bottom up -> the ones each may import (besides itself): the worker knows
#: nothing of the API, the API nothing of the console; only the composition root sees them all.
ROOMS_BELOW: dict[str, frozenset[str]] = {
    "kafka": frozenset(),
    "replay": frozenset({"kafka"}),
    "worker": frozenset({"kafka"}),
    "notify": frozenset({"kafka", "worker"}),
    "ops": frozenset({"kafka", "replay", "notify"}),  # verify refolds the alert lifecycles
    "api": frozenset({"kafka", "worker", "notify"}),
    "order_index": frozenset({"kafka", "worker", "api"}),
    "console": frozenset({"kafka", "worker", "notify", "api", "ops", "order_index"}),
    "compose": frozenset({"kafka", "replay", "ops", "worker", "notify", "api", "order_index", "console"}),
}


def upward_room_imports(graph: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """`{module: [streams modules of a room it may not import]}` for the modules that have any."""
    def room(module: str) -> str:
        return module.split(".")[1] if module.count(".") else ""

    return {module: wrong for module, names in graph.items()
            if (wrong := sorted(n for n in names if room(n) != room(module)
                                and room(n) not in ROOMS_BELOW.get(room(module), frozenset())))}


def test_the_room_check_sees_an_upward_import() -> None:
    assert upward_room_imports({"streams.worker.app": {"streams.api.views", "streams.kafka.seam"},
                                "streams.compose.worker": {"streams.console.install"}}) == {
        "streams.worker.app": ["streams.api.views"]}


def test_streams_rooms_import_only_the_rooms_below() -> None:
    modules = modules_of("streams")
    rooms = {p.name for p in (REPO / "streams").iterdir() if (p / "__init__.py").exists()}
    assert rooms == set(ROOMS_BELOW), "a new room of streams/ needs its place in ROOMS_BELOW"
    assert upward_room_imports(import_graph(modules)) == {}


def test_the_pure_core_imports_no_io_layer() -> None:
    for package in PURE:
        modules = modules_of(package)
        bad = {name: sorted(m for m in imported(path, modules) if m.split(".")[0] in NOT_IN_PURE)
               for name, path in modules.items()}
        assert {name: found for name, found in bad.items() if found} == {}


def test_streams_is_sub_packages_by_job_each_with_a_docstring_and_a_light_init() -> None:
    loose = sorted(p.name for p in (REPO / "streams").glob("*.py") if p.name != "__init__.py")
    assert loose == [], "streams/ holds sub-packages by job, not modules"
    for init in [REPO / "streams" / "__init__.py", *sorted((REPO / "streams").glob("*/__init__.py"))]:
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.relative_to(REPO)} needs a docstring saying what belongs there"
        assert not [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], f"{init} imports"


def test_every_streams_module_imports() -> None:
    names = [name for name in modules_of("streams") if not name.endswith("__main__")]
    code = "import importlib\nfor name in %r:\n    importlib.import_module(name)\n" % names
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
